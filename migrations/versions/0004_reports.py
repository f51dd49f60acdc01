"""public reports (举报): the reports of the last rate-limit window, by a hash of the client's address

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_submissions',
    sa.Column('report_id', sa.String(length=36), nullable=False),
    sa.Column('client_key', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_report_submissions'))
    )
    op.create_index('ix_report_submissions_client_key', 'report_submissions', ['client_key', 'submitted_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_report_submissions_client_key', table_name='report_submissions')
    op.drop_table('report_submissions')
