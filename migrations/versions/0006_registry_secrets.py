"""registry secrets kept out of the events: the registry_secrets table, filled from the registry

Valve secrets move from the registry projection's data into ``registry_secrets``; registry events
recorded from now on carry only their SHA-256. (Events recorded before keep what they hold: the log is
append-only and hash-chained.) Also joins the two heads, 0004 and 0005.

Revision ID: 0006
Revises: 0004, 0005
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | Sequence[str] | None = ('0004', '0005')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: as ``domain.events.REGISTRY_SECRET_FIELDS`` stood when this migration was written
_SECRET_FIELDS = {"valve": ("secret",)}

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_registry = sa.table("registry", sa.column("kind", sa.String), sa.column("id", sa.String), sa.column("data", _json))
_secrets = sa.table("registry_secrets", sa.column("kind", sa.String), sa.column("id", sa.String),
                    sa.column("field", sa.String), sa.column("value", sa.Text),
                    sa.column("updated_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.create_table(
        "registry_secrets",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", "field", name=op.f("pk_registry_secrets")),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    for kind, fields in _SECRET_FIELDS.items():
        rows = bind.execute(sa.select(_registry.c.id, _registry.c.data).where(_registry.c.kind == kind)).all()
        for row in rows:
            data = dict(row.data)
            kept = {f: data.pop(f) for f in fields if f in data}
            if not kept:
                continue
            bind.execute(sa.insert(_secrets), [
                {"kind": kind, "id": row.id, "field": f, "value": str(v), "updated_at": now} for f, v in kept.items()])
            bind.execute(sa.update(_registry).where(_registry.c.kind == kind, _registry.c.id == row.id)
                         .values(data=data))


def downgrade() -> None:
    bind = op.get_bind()
    for row in bind.execute(sa.select(_secrets)).all():
        current = bind.execute(sa.select(_registry.c.data).where(
            _registry.c.kind == row.kind, _registry.c.id == row.id)).scalar_one_or_none()
        if current is not None:
            bind.execute(sa.update(_registry).where(_registry.c.kind == row.kind, _registry.c.id == row.id)
                         .values(data={**current, row.field: row.value}))
    op.drop_table("registry_secrets")
