"""smart valves: valve messages, device status, dead letters, fill authorizations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('valve_messages',
    sa.Column('valve_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('valve_id', 'seq', name=op.f('pk_valve_messages'))
    )
    op.create_table('valve_status',
    sa.Column('valve_id', sa.String(length=32), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('battery_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rssi', sa.Float(), nullable=True),
    sa.Column('level_pct', sa.Float(), nullable=True),
    sa.Column('last_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.Column('missing_count', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('valve_id', name=op.f('pk_valve_status'))
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('valve_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index('ix_dead_letters_received_at', ['received_at'], unique=False)

    op.create_table('valve_authorizations',
    sa.Column('auth_id', sa.String(length=64), nullable=False),
    sa.Column('valve_id', sa.String(length=32), nullable=False),
    sa.Column('cylinder_code', sa.String(length=30), nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('max_mass_kg', sa.Float(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_seq', sa.BigInteger(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('auth_id', name=op.f('pk_valve_authorizations'))
    )
    with op.batch_alter_table('valve_authorizations', schema=None) as batch_op:
        batch_op.create_index('ix_valve_authorizations_expires', ['expires'], unique=False)
        batch_op.create_index('ix_valve_authorizations_valve_id', ['valve_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('valve_authorizations', schema=None) as batch_op:
        batch_op.drop_index('ix_valve_authorizations_valve_id')
        batch_op.drop_index('ix_valve_authorizations_expires')
    op.drop_table('valve_authorizations')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letters_received_at')
    op.drop_table('dead_letters')
    op.drop_table('valve_status')
    op.drop_table('valve_messages')
