"""valve status without stored seq gaps: they are read from valve_messages, the status is upserted

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('valve_status', schema=None) as batch_op:
        batch_op.drop_column('missing_count')
        batch_op.drop_column('missing')


def downgrade() -> None:
    with op.batch_alter_table('valve_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('missing', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('missing_count', sa.BigInteger(), server_default='0', nullable=False))
