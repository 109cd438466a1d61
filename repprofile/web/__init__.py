"""The candidate web assessment (``repprofile serve``; needs ``pip install 'repprofile[server]'``):
invitations, the candidate's pages at ``/take/{token}``, results stored in a database
(SQLite by default, PostgreSQL through psycopg 3), the webhook outbox and the access log.

This layer sits above :mod:`repprofile.server` (it mounts its routes on the scoring API's
app) and below :mod:`repprofile.cli`. See docs/web-assessment.md.
"""

from repprofile.web._app import create_web_app
from repprofile.web._settings import WebSettings

__all__ = ["WebSettings", "create_web_app"]
