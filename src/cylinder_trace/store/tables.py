"""SQLAlchemy Core tables. The Alembic migrations under ``migrations/`` create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

from .types import BigId, JsonType, UtcDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: the event store: one row per event, a global position, a per-stream version and hash chain
events = sa.Table(
    "events",
    metadata,
    sa.Column("position", BigId, primary_key=True, autoincrement=True),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    # plain JSON (text), not JSONB: the stored text keeps every value exactly as it was hashed
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
)
sa.Index("ix_events_type", events.c.type)
sa.Index("ix_events_recorded_at", events.c.recorded_at)

#: where each catch-up projection has got to; written in the same transaction as its rows
projection_checkpoints = sa.Table(
    "projection_checkpoints",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

#: idempotency of commands: the result a client's ``event_id`` got the first time
command_log = sa.Table(
    "command_log",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(80), nullable=False),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", JsonType, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
)

#: projection: registry entries (company, station, staff, vehicle, agency, customer, valve) as they are now
registry = sa.Table(
    "registry",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("company_id", sa.String(64), nullable=True),
    sa.Column("data", JsonType, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
sa.Index("ix_registry_kind_company", registry.c.kind, registry.c.company_id)

#: projection: each cylinder's current state, for lists and filters
cylinders = sa.Table(
    "cylinders",
    metadata,
    sa.Column("code", sa.String(30), primary_key=True),
    sa.Column("model", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("owner_company_id", sa.String(64), nullable=True),
    sa.Column("owner_customer_id", sa.String(64), nullable=True),
    sa.Column("company_id", sa.String(64), nullable=True),
    sa.Column("smart_valve_id", sa.String(32), nullable=True),
    sa.Column("next_inspection_due", sa.Date, nullable=False),
    sa.Column("life_expires_on", sa.Date, nullable=False),
    sa.Column("state", JsonType, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
)
sa.Index("ix_cylinders_status", cylinders.c.status)
sa.Index("ix_cylinders_company_id", cylinders.c.company_id)
sa.Index("ix_cylinders_next_inspection_due", cylinders.c.next_inspection_due)

#: the next generated serial per company prefix and asset type
code_counters = sa.Table(
    "code_counters",
    metadata,
    sa.Column("prefix", sa.String(12), primary_key=True),
    sa.Column("asset_type", sa.Integer, primary_key=True),
    sa.Column("next_serial", sa.BigInteger, nullable=False),
)

#: API principals; only a hash of each token is kept
principals = sa.Table(
    "principals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("company_id", sa.String(64), nullable=True),
    sa.Column("station_id", sa.String(64), nullable=True),
    sa.Column("staff_id", sa.String(64), nullable=True),
    sa.Column("agency_id", sa.String(64), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
)

#: who read what unmasked (customer ID numbers)
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("principal_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
)
