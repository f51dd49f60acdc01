"""ct_take_append_lock: the append lock, the next position and the projections' checkpoints in one call

A batch of appends starts by taking the transaction-level advisory lock and then reading the newest
position: two statements, because under READ COMMITTED a statement's snapshot is taken when it starts and
a position read in the locking statement could miss an append committed while it waited. In a PL/pgSQL
function each statement takes its own snapshot, so the lock and the reads after it are one round trip.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION ct_take_append_lock(lock_key bigint)
        RETURNS TABLE (next_position bigint, checkpoints json)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            RETURN QUERY SELECT
                (SELECT coalesce(max(e.position), 0) + 1 FROM events e),
                (SELECT coalesce(json_object_agg(p.name, p.position), '{}'::json) FROM projection_checkpoints p);
        END
        $$
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ct_take_append_lock(bigint)")
