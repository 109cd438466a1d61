"""The HTTP API (an interface: the top layer). Needs the ``server`` extra (FastAPI).

``create_app(settings)`` builds the ASGI app; ``ServerSettings`` holds its limits and keys.
"""

from repprofile.server._app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
