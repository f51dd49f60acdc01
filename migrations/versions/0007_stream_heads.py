"""stream heads: one row per stream with its version and newest hash

Appends read the heads of many streams with one query and move them in the same transaction as the
events; the table is filled from the events already stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "streams",
        sa.Column("stream_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_streams")),
    )
    op.execute(
        "INSERT INTO streams (stream_id, version, head_hash) "
        "SELECT e.stream_id, e.version, e.hash FROM events e "
        "JOIN (SELECT stream_id, MAX(version) AS version FROM events GROUP BY stream_id) newest "
        "ON newest.stream_id = e.stream_id AND newest.version = e.version"
    )


def downgrade() -> None:
    op.drop_table("streams")
