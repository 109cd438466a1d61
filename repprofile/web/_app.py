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
from repprofile.web._api import add_invitation_routes
from repprofile.web._pages import add_page_routes
from repprofile.web._service import WebService
from repprofile.web._settings import WebSettings

__all__ = ["PUBLIC_PREFIXES", "create_web_app", "web_app_from_env"]

# Candidate pages and their assets need no API key: the link's token is the credential.
PUBLIC_PREFIXES = ("/take/", "/assets/")


def create_web_app(
    settings: ServerSettings | None = None,
    web_settings: WebSettings | None = None,
    *,
    engine: Engine | None = None,
) -> FastAPI:
    """The scoring API plus the web assessment, on the database of ``web_settings``
    (default: :meth:`WebSettings.from_env`).

    The database must be at this version's newest migration (``repprofile db upgrade``;
    ``repprofile serve`` upgrades it on start unless told not to): the app refuses to
    start otherwise.
    """
    ws = web_settings if web_settings is not None else WebSettings.from_env()

    def extend(app: FastAPI, service: Service) -> None:
        web = WebService(ws, service, engine)
        web.check_schema()
        app.state.web = web
        add_invitation_routes(app, web)
        add_page_routes(app, web)

    return create_app(settings, extend=extend, public_prefixes=PUBLIC_PREFIXES)


def web_app_from_env() -> FastAPI:
    """App factory for ASGI servers (``repprofile serve`` runs this one):
    ``uvicorn --factory repprofile.web._app:web_app_from_env``."""
    import gc

    app = create_web_app(ServerSettings.from_env(), WebSettings.from_env())
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    return app
