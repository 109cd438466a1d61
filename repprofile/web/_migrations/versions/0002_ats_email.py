"""ATS orders, the email outbox, candidate email on invitations, PATCH key on the outbox

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invitation_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("token_sealed", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invitation_id", "kind"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "ix_email_outbox_due", "email_outbox", ["delivered_at", "next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_email_outbox_invitation_id"), "email_outbox", ["invitation_id"], unique=False
    )
    op.create_table(
        "ats_orders",
        sa.Column("invitation_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("partner_test_id", sa.String(length=200), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("dedupe", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("invitation_id"),
        sa.UniqueConstraint("dedupe"),
    )
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("candidate_email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("candidate_name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("webhook_outbox") as batch:
        batch.add_column(sa.Column("auth_key_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox") as batch:
        batch.drop_column("auth_key_sha256")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("candidate_name")
        batch.drop_column("candidate_email")
    op.drop_table("ats_orders")
    op.drop_index(op.f("ix_email_outbox_invitation_id"), table_name="email_outbox")
    op.drop_index("ix_email_outbox_due", table_name="email_outbox")
    op.drop_table("email_outbox")
