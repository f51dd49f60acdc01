"""subsidy ledger: why each recycling subsidy was paid, and the valve's earlier subsidy found fast

``subsidy_lines.basis``: for a recycling subsidy, the category that earned it (``life_expired``,
``unqualified``, ``obsolete``, or ``swap_recycle`` for a swap's recycle branch); rows recorded before
keep none. An index on ``valve_id``: a smart valve earns once, so each fit looks its valve up.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subsidy_lines") as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_subsidy_lines_valve_id", ["valve_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subsidy_lines") as batch_op:
        batch_op.drop_index("ix_subsidy_lines_valve_id")
        batch_op.drop_column("basis")
