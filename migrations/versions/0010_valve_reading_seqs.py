"""valve status: the seq each reading came from (rssi, level), so a late message never overwrites it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('valve_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rssi_seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('level_seq', sa.BigInteger(), server_default='0', nullable=False))
    # until now both came with the battery reading
    op.execute("UPDATE valve_status SET rssi_seq = battery_seq WHERE rssi IS NOT NULL")
    op.execute("UPDATE valve_status SET level_seq = battery_seq WHERE level_pct IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('valve_status', schema=None) as batch_op:
        batch_op.drop_column('level_seq')
        batch_op.drop_column('rssi_seq')
