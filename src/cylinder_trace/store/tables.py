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

#: where each stream ends (its version and newest hash), moved by every append in the same statement batch:
#: appends read heads here with one query for many streams, and a checkpoint hashes them all
streams = sa.Table(
    "streams",
    metadata,
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
)

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

#: state, not a projection: the registry fields kept out of the events (valve secrets), current values
registry_secrets = sa.Table(
    "registry_secrets",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("field", sa.String(32), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

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
    #: refused from then on (``None``: never expires)
    sa.Column("expires_at", UtcDateTime, nullable=True),
    #: revoked (``DELETE /api/v1/principals/{id}``): refused from then on, by whom
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("revoked_by", sa.String(64), nullable=True),
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
sa.Index("ix_audit_log_at", audit_log.c.at)

# --- findings ledger (隐患台账) and money ledgers ----------------------------------------------------

#: projection: one row per finding (one open finding per rule per subject; repeats add evidence)
findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("rule", sa.String(60), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("subject", sa.String(120), nullable=False),
    sa.Column("company_id", sa.String(64), nullable=True),
    #: open | rectified | closed
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("opened_event_id", sa.String(36), nullable=False),
    #: global position of the opening event and the violation's index in it: the ledger's order
    sa.Column("sort_key", sa.String(32), nullable=False, unique=True),
    sa.Column("due_on", sa.Date, nullable=True),
    #: the customer refused to rectify (拒不整改): a hazard that stops supply at once
    sa.Column("refused", sa.Boolean, nullable=False),
    sa.Column("evidence_count", sa.Integer, nullable=False),
    sa.Column("last_evidence_at", UtcDateTime, nullable=False),
    sa.Column("message_zh", sa.Text, nullable=False),
    sa.Column("message_en", sa.Text, nullable=False),
    sa.Column("detail", JsonType, nullable=False),
    sa.Column("status_changed_at", UtcDateTime, nullable=True),
    sa.Column("status_by", sa.String(200), nullable=True),
    sa.Column("status_note", sa.Text, nullable=True),
)
sa.Index("ix_findings_rule_subject_status", findings.c.rule, findings.c.subject, findings.c.status)
sa.Index("ix_findings_company_id", findings.c.company_id)
sa.Index("ix_findings_subject", findings.c.subject)
sa.Index("ix_findings_status", findings.c.status)

#: projection: the events that are a finding's evidence
finding_evidence = sa.Table(
    "finding_evidence",
    metadata,
    sa.Column("finding_id", sa.String(36), primary_key=True),
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
)

#: projection: a finding's status changes (opened, rectified, closed, reopened), who, when, why
finding_history = sa.Table(
    "finding_history",
    metadata,
    sa.Column("finding_id", sa.String(36), primary_key=True),
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("by_name", sa.String(200), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

#: projection: every subsidy a company earned (amounts in fen), one row per event that earned it
subsidy_lines = sa.Table(
    "subsidy_lines",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("company_id", sa.String(64), nullable=False),
    #: smart_valve | recycling
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("code", sa.String(30), nullable=True),
    sa.Column("valve_id", sa.String(32), nullable=True),
    #: recycling: the category that earned it (life_expired | unqualified | obsolete | swap_recycle)
    sa.Column("basis", sa.String(20), nullable=True),
)
sa.Index("ix_subsidy_lines_company_day", subsidy_lines.c.company_id, subsidy_lines.c.day)
sa.Index("ix_subsidy_lines_code_valve", subsidy_lines.c.code, subsidy_lines.c.valve_id)
sa.Index("ix_subsidy_lines_valve_id", subsidy_lines.c.valve_id)

#: projection: the 产权置换 ledger, one row per swap (amounts in fen)
swap_ledger = sa.Table(
    "swap_ledger",
    metadata,
    sa.Column("swap_id", sa.String(36), primary_key=True),
    #: global position of the swap's event: the ledger's order
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("company_id", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("old_code", sa.String(30), nullable=False),
    sa.Column("new_code", sa.String(30), nullable=False),
    sa.Column("branch", sa.String(20), nullable=False),
    sa.Column("age_years", sa.Integer, nullable=False),
    sa.Column("years_since_inspection", sa.Integer, nullable=False),
    sa.Column("user_pays_fen", sa.BigInteger, nullable=False),
    sa.Column("deposit_fen", sa.BigInteger, nullable=False),
    sa.Column("payout_fen", sa.BigInteger, nullable=False),
    sa.Column("subsidy_fen", sa.BigInteger, nullable=False),
    sa.Column("topup_kg", sa.Float, nullable=False),
    sa.Column("deposit_refunded_on", sa.Date, nullable=True),
    sa.Column("returned_code", sa.String(30), nullable=True),
    sa.Column("event_ids", JsonType, nullable=False),
)
sa.Index("ix_swap_ledger_company_day", swap_ledger.c.company_id, swap_ledger.c.day)

#: projection: each customer's latest in-home safety check (for the monthly sweep)
customer_checks = sa.Table(
    "customer_checks",
    metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("last_check_on", sa.Date, nullable=False),
    sa.Column("last_event_id", sa.String(36), nullable=False),
)

# --- smart valves (the MQTT ingestor) ----------------------------------------------------------------

#: every event message a valve sent, stored once per ``(valve_id, seq)`` exactly as it arrived
valve_messages = sa.Table(
    "valve_messages",
    metadata,
    sa.Column("valve_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    #: the valve's clock
    sa.Column("ts", UtcDateTime, nullable=False),
    #: when the ingestor received it
    sa.Column("received_at", UtcDateTime, nullable=False),
    #: the message's MAC (an HMAC over its canonical form): a repeat is the same event iff this matches
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

#: each valve's device status: presence (status topic, Last Will), last heard, battery, highest seq
valve_status = sa.Table(
    "valve_status",
    metadata,
    sa.Column("valve_id", sa.String(32), primary_key=True),
    sa.Column("online", sa.Boolean, nullable=True),
    sa.Column("status_changed_at", UtcDateTime, nullable=True),
    sa.Column("last_seen", UtcDateTime, nullable=True),
    sa.Column("battery_pct", sa.Float, nullable=True),
    sa.Column("battery_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rssi", sa.Float, nullable=True),
    sa.Column("level_pct", sa.Float, nullable=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    #: the ``seq`` of the message the ``rssi`` / ``level_pct`` came from (as ``battery_seq`` for the battery)
    sa.Column("rssi_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("level_seq", sa.BigInteger, nullable=False, server_default="0"),
)

#: what the ingestor could not accept, with the raw payload and why
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    #: a short category (``bad_mac``, ``replay``, ``not_json`` …) for filters and metrics
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("valve_id", sa.String(64), nullable=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)
sa.Index("ix_dead_letters_received_at", dead_letters.c.received_at)

#: every ``authorize_fill`` issued to a valve, and what became of it
valve_authorizations = sa.Table(
    "valve_authorizations",
    metadata,
    sa.Column("auth_id", sa.String(64), primary_key=True),
    sa.Column("valve_id", sa.String(32), nullable=False),
    sa.Column("cylinder_code", sa.String(30), nullable=False),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("max_mass_kg", sa.Float, nullable=False),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    #: who ran the fill check that issued it
    sa.Column("issued_by", sa.String(200), nullable=False),
    sa.Column("expires", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=True),
    sa.Column("used_at", UtcDateTime, nullable=True),
    sa.Column("used_seq", sa.BigInteger, nullable=True),
    #: when the broker took the ``authorize_fill`` command (the command relay's outbox)
    sa.Column("published_at", UtcDateTime, nullable=True),
    #: when the window check looked for the station's fill record (VALVE_FILL_UNRECORDED)
    sa.Column("window_checked_at", UtcDateTime, nullable=True),
)
sa.Index("ix_valve_authorizations_valve_id", valve_authorizations.c.valve_id)
sa.Index("ix_valve_authorizations_expires", valve_authorizations.c.expires)

# --- public reports (举报) ------------------------------------------------------------------------

#: the public reports of the last rate-limit window, by a hash of the client's address (never the address)
report_submissions = sa.Table(
    "report_submissions",
    metadata,
    sa.Column("report_id", sa.String(36), primary_key=True),
    sa.Column("client_key", sa.String(64), nullable=False),
    sa.Column("submitted_at", UtcDateTime, nullable=False),
)
sa.Index("ix_report_submissions_client_key", report_submissions.c.client_key, report_submissions.c.submitted_at)
