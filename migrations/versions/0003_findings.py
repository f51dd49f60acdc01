"""findings ledger, subsidy and swap ledgers, customers' last safety checks

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('findings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('company_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_event_id', sa.String(length=36), nullable=False),
    sa.Column('sort_key', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('evidence_count', sa.Integer(), nullable=False),
    sa.Column('last_evidence_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message_zh', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('detail', JSON, nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_by', sa.String(length=200), nullable=True),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    sa.UniqueConstraint('sort_key', name=op.f('uq_findings_sort_key'))
    )
    op.create_index('ix_findings_rule_subject_status', 'findings', ['rule', 'subject', 'status'], unique=False)
    op.create_index('ix_findings_company_id', 'findings', ['company_id'], unique=False)
    op.create_index('ix_findings_subject', 'findings', ['subject'], unique=False)
    op.create_index('ix_findings_status', 'findings', ['status'], unique=False)

    op.create_table('finding_evidence',
    sa.Column('finding_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('stream_id', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('finding_id', 'event_id', name=op.f('pk_finding_evidence'))
    )
    op.create_table('finding_history',
    sa.Column('finding_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('by_name', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('finding_id', 'event_id', name=op.f('pk_finding_history'))
    )

    op.create_table('subsidy_lines',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('company_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=True),
    sa.Column('valve_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_subsidy_lines'))
    )
    op.create_index('ix_subsidy_lines_company_day', 'subsidy_lines', ['company_id', 'day'], unique=False)
    op.create_index('ix_subsidy_lines_code_valve', 'subsidy_lines', ['code', 'valve_id'], unique=False)

    op.create_table('swap_ledger',
    sa.Column('swap_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('company_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('old_code', sa.String(length=30), nullable=False),
    sa.Column('new_code', sa.String(length=30), nullable=False),
    sa.Column('branch', sa.String(length=20), nullable=False),
    sa.Column('age_years', sa.Integer(), nullable=False),
    sa.Column('years_since_inspection', sa.Integer(), nullable=False),
    sa.Column('user_pays_fen', sa.BigInteger(), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('payout_fen', sa.BigInteger(), nullable=False),
    sa.Column('subsidy_fen', sa.BigInteger(), nullable=False),
    sa.Column('topup_kg', sa.Float(), nullable=False),
    sa.Column('deposit_refunded_on', sa.Date(), nullable=True),
    sa.Column('returned_code', sa.String(length=30), nullable=True),
    sa.Column('event_ids', JSON, nullable=False),
    sa.PrimaryKeyConstraint('swap_id', name=op.f('pk_swap_ledger'))
    )
    op.create_index('ix_swap_ledger_company_day', 'swap_ledger', ['company_id', 'day'], unique=False)

    op.create_table('customer_checks',
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('last_check_on', sa.Date(), nullable=False),
    sa.Column('last_event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_checks'))
    )


def downgrade() -> None:
    op.drop_table('customer_checks')
    op.drop_index('ix_swap_ledger_company_day', table_name='swap_ledger')
    op.drop_table('swap_ledger')
    op.drop_index('ix_subsidy_lines_code_valve', table_name='subsidy_lines')
    op.drop_index('ix_subsidy_lines_company_day', table_name='subsidy_lines')
    op.drop_table('subsidy_lines')
    op.drop_table('finding_history')
    op.drop_table('finding_evidence')
    op.drop_index('ix_findings_status', table_name='findings')
    op.drop_index('ix_findings_subject', table_name='findings')
    op.drop_index('ix_findings_company_id', table_name='findings')
    op.drop_index('ix_findings_rule_subject_status', table_name='findings')
    op.drop_table('findings')
