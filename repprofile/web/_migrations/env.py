"""Alembic environment: runs the migrations on the engine handed over in
``config.attributes["engine"]`` (see :func:`repprofile.web._db.upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from repprofile.web._db import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # one migrating process at a time (several workers or machines starting together);
        # the key is 0x726570726f66 ("reprof") written in decimal, as SQL wants it
        connection.execute(text("SELECT pg_advisory_xact_lock(125780003811174)"))
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
