"""Signed, expiring report links: the ``partner_profile_url`` Greenhouse shows a recruiter
and the ``result_url`` of the generic results push. They open the candidate's report
without an API key; the link is the credential.

A link is ``PUBLIC_URL/reports/TOKEN`` with ``TOKEN = INVITATION_ID.EXPIRES.SIGNATURE``:
``EXPIRES`` the Unix time (whole seconds) after which it is refused, and ``SIGNATURE`` the
unpadded URL-safe base64 of HMAC-SHA256, keyed with the server's secret key
(:meth:`WebService.secret_key`), of ``b"repprofile-report\\x00" + INVITATION_ID +
b"\\x00" + EXPIRES``. Nothing is stored per link: erasing the invitation revokes every
link to it (the report is gone), and a new secret key revokes every link at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re

__all__ = ["REPORT_PREFIX", "check_report_token", "report_token", "report_url"]

REPORT_PREFIX = "/reports/"
_CONTEXT = b"repprofile-report\x00"
_TOKEN = re.compile(r"^(inv_[0-9a-f]{24})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


def _signature(key: bytes, invitation_id: str, expires: int) -> str:
    """The unpadded URL-safe base64 HMAC-SHA256 of one link."""
    message = _CONTEXT + invitation_id.encode("ascii") + b"\x00" + str(expires).encode("ascii")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def report_token(key: bytes, invitation_id: str, expires_at: dt.datetime) -> str:
    """The token of a report link to ``invitation_id`` valid until ``expires_at``."""
    expires = int(expires_at.timestamp())
    return f"{invitation_id}.{expires}.{_signature(key, invitation_id, expires)}"


def report_url(public_url: str, key: bytes, invitation_id: str, expires_at: dt.datetime) -> str:
    """The full report link (``PUBLIC_URL/reports/TOKEN``)."""
    token = report_token(key, invitation_id, expires_at)
    return f"{public_url.rstrip('/')}{REPORT_PREFIX}{token}"


def check_report_token(key: bytes, token: str, now: dt.datetime) -> str | None:
    """The invitation id of a valid, unexpired ``token``; None for anything else (a
    malformed, forged or expired token look the same to the caller). The signature is
    compared in constant time."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    invitation_id, expires_text, signature = match.groups()
    expires = int(expires_text)
    expected = _signature(key, invitation_id, expires)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        return None
    if now.timestamp() >= expires:
        return None
    return invitation_id
