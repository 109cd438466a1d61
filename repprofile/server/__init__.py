"""The HTTP API (an interface: the top layer). Needs the ``server`` extra (FastAPI).

``create_app(settings)`` builds the ASGI app; ``ServerSettings`` holds its limits and keys.
"""

from repprofile.server._app import create_app
from repprofile.server._settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
