"""The OpenAPI document is the contract of the HTTP API: pinned by a digest, so that a
refactoring cannot change it unnoticed.

The digest is the SHA-256 of the document as canonical JSON (``json.dumps(doc,
sort_keys=True)``) with ``info.version`` set to ``"VERSION"`` (so that a release does not
change it), recorded before the server module was split by concern (issue 13). It also
covers the bundled questionnaire, role and norm ids (examples in the request schemas;
enums before issue 15). A deliberate change of the API changes it: record the new digest
together with the change, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json

import repprofile
from repprofile.server import ServerSettings, create_app

from ._server_helpers import KEY, KEY2, MAX_CANDIDATES

OPENAPI_SHA256 = "75186fece50e2156ef863066ba098b2a78a678c92cf31c0a68232daf064eaf1c"


def test_the_openapi_document_is_pinned() -> None:
    # The settings of the in-process tests; the document does not depend on them.
    app = create_app(ServerSettings(api_keys=(KEY, KEY2), max_candidates=MAX_CANDIDATES))
    doc = json.loads(json.dumps(app.openapi()))  # a copy: the app caches its document
    assert doc["info"]["version"] == repprofile.__version__
    doc["info"]["version"] = "VERSION"
    canonical = json.dumps(doc, sort_keys=True)
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == OPENAPI_SHA256


# The document `repprofile serve` serves: the scoring API plus the invitations API of the
# web assessment (issue 17), with issue 18's report links and emails. The candidate pages
# are HTML, not part of the API document.
WEB_OPENAPI_SHA256 = "88ae4bdbcfe4386ad97b40659502bcbb77f7f2639865e561ba23e9c0f61fa66d"


def test_the_served_openapi_document_with_the_invitations_api_is_pinned() -> None:
    from sqlalchemy import create_engine

    from repprofile.web import WebSettings, create_web_app

    engine = create_engine("sqlite://")
    app = create_web_app(
        ServerSettings(api_keys=(KEY, KEY2), max_candidates=MAX_CANDIDATES),
        WebSettings(),
        engine=engine,
    )
    doc = json.loads(json.dumps(app.openapi()))
    engine.dispose()
    paths = sorted(p for p in doc["paths"] if p.startswith("/v1/invitations"))
    assert paths == [
        "/v1/invitations",
        "/v1/invitations/{invitation_id}",
        "/v1/invitations/{invitation_id}/chart",
        "/v1/invitations/{invitation_id}/report",
        "/v1/invitations/{invitation_id}/report-link",
        "/v1/invitations/{invitation_id}/withdraw",
    ]
    # the candidate pages are HTML; the Greenhouse endpoints have Greenhouse's shapes
    # (docs/ats.md); a signed report link is a page
    hidden = ("/take", "/assets", "/integrations", "/reports")
    assert not [p for p in doc["paths"] if p.startswith(hidden)]
    doc["info"]["version"] = "VERSION"
    canonical = json.dumps(doc, sort_keys=True)
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == WEB_OPENAPI_SHA256
