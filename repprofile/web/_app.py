"""The whole server of ``repprofile serve``: the scoring API (:func:`repprofile.server.create_app`)
with the web assessment mounted on it: the invitations API, the candidate's pages and the
webhook outbox, all on one database.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from repprofile.server._app import create_app
from repprofile.server._service import Service
from repprofile.server._settings import ServerSettings
from repprofile.web._api import add_invitation_routes, add_report_link_routes
from repprofile.web._greenhouse import PREFIX as GREENHOUSE_PREFIX
from repprofile.web._greenhouse import add_greenhouse_routes, check_keys, load_catalogue
from repprofile.web._links import REPORT_PREFIX
from repprofile.web._mail import add_mail_worker
from repprofile.web._outbox import add_outbox_worker
from repprofile.web._pages import add_page_routes
from repprofile.web._service import WebService
from repprofile.web._settings import ENV_GREENHOUSE_KEYS, WebSettings

__all__ = ["PUBLIC_PREFIXES", "create_web_app", "web_app_from_env"]

# Candidate pages and their assets need no API key: the link's token is the credential.
# The Greenhouse endpoints check their own HTTP Basic key; a signed report link is its
# own credential.
PUBLIC_PREFIXES = ("/take/", "/assets/", GREENHOUSE_PREFIX, REPORT_PREFIX)


def create_web_app(
    settings: ServerSettings | None = None,
    web_settings: WebSettings | None = None,
    *,
    engine: Engine | None = None,
) -> FastAPI:
    """The scoring API plus the web assessment, on the database of ``web_settings``
    (default: :meth:`WebSettings.from_env`).

    The database must be at this version's newest migration (``repprofile db upgrade``;
    ``repprofile serve`` upgrades it on start unless told not to): the app's start-up
    fails otherwise.
    """
    ws = web_settings if web_settings is not None else WebSettings.from_env()
    st = settings if settings is not None else ServerSettings.from_env()
    if ws.greenhouse_keys:
        ring = check_keys([k.get_secret_value() for k in ws.greenhouse_keys], ENV_GREENHOUSE_KEYS)
    else:
        ring = check_keys(st.keys(), "REPPROFILE_API_KEYS", strict=False)

    def extend(app: FastAPI, service: Service) -> None:
        web = WebService(ws, service, engine)
        web.ats_keys = ring
        tests = load_catalogue(ws.ats_config, service.catalogue)
        # at start-up, not here: building the app for its OpenAPI document needs no database
        app.router.on_startup.append(web.check_schema)
        app.state.web = web
        add_invitation_routes(app, web)
        add_outbox_worker(app, web)  # webhook delivery thread, when settings.outbox is on
        add_mail_worker(app, web)  # candidate emails, when the server sends email
        add_page_routes(app, web)
        add_greenhouse_routes(app, web, tests)
        add_report_link_routes(app, web)

    return create_app(st, extend=extend, public_prefixes=PUBLIC_PREFIXES)


def web_app_from_env() -> FastAPI:
    """App factory for ASGI servers (``repprofile serve`` runs this one):
    ``uvicorn --factory repprofile.web._app:web_app_from_env``."""
    import gc

    app = create_web_app(ServerSettings.from_env(), WebSettings.from_env())
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    return app
