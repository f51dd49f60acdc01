"""Registries: companies, stations, staff, vehicles, agencies, customers and valves.

Each entry is an event stream (``company:C1``…): every change is kept with who and when; the
``registry`` projection holds the entries as they are now. Secret fields (a valve's HMAC secret) stay
out of both: their events carry the value's SHA-256, the value is kept in ``registry_secrets``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events as ev
from ..domain.events import NewEvent, registry_stream
from ..store.db import upsert
from ..store.tables import registry, registry_secrets
from .errors import Conflict, InvalidInput, NotFound
from .personal_data import PersonalDataCipher, is_sealed
from .principals import Principal
from .unit_of_work import Outcome, Tx


@dataclass(frozen=True, slots=True)
class RegistryKind:
    kind: str
    collection: str
    id_field: str
    #: fields whose value never leaves the service nor enters the log (valve secrets)
    secret_fields: tuple[str, ...] = ()
    #: the kind of the entry its company_id must name (None: this kind has no company)
    company_scoped: bool = True
    #: personal data kept sealed at rest (``personal_data.py``), in the events and the projection alike
    personal_fields: tuple[str, ...] = ()


KINDS: Final[dict[str, RegistryKind]] = {
    k.collection: k
    for k in (
        RegistryKind("company", "companies", "id", company_scoped=False),
        RegistryKind("station", "stations", "id"),
        RegistryKind("staff", "staff", "id"),
        RegistryKind("vehicle", "vehicles", "plate"),
        RegistryKind("agency", "agencies", "id", company_scoped=False),
        RegistryKind("customer", "customers", "id", personal_fields=("id_number",)),
        RegistryKind("valve", "valves", "valve_id", secret_fields=ev.REGISTRY_SECRET_FIELDS["valve"]),
    )
}
BY_KIND: Final[dict[str, RegistryKind]] = {k.kind: k for k in KINDS.values()}


def entry_company(kind: RegistryKind, entry: dict[str, Any]) -> str | None:
    if kind.kind == "company":
        return str(entry["id"])
    return entry.get("company_id") if kind.company_scoped else None


def public_view(kind: RegistryKind, entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in kind.secret_fields}


def _sealed(kind: RegistryKind, entry: dict[str, Any], cipher: PersonalDataCipher | None) -> dict[str, Any]:
    """``entry`` with its personal fields sealed (those given as plain text)."""
    personal = {k: v for k, v in entry.items() if k in kind.personal_fields and isinstance(v, str)}
    if not personal:
        return entry
    if cipher is None:
        raise TypeError(f"a {kind.kind} entry holds personal data: give the cipher that seals it")
    return {**entry, **{k: v if is_sealed(v) else cipher.seal(v) for k, v in personal.items()}}


def opened(kind: RegistryKind, entry: dict[str, Any], cipher: PersonalDataCipher | None) -> dict[str, Any]:
    """``entry`` with its personal fields in plain text (for comparing, and for admins and regulators)."""
    sealed = {k: v for k, v in entry.items() if k in kind.personal_fields and is_sealed(v)}
    if not sealed:
        return entry
    if cipher is None:
        raise TypeError(f"a {kind.kind} entry holds sealed personal data: give the cipher that opens it")
    return {**entry, **{k: cipher.open(v) for k, v in sealed.items()}}


def _secrets_of(kind: RegistryKind, entry: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in entry.items() if k in kind.secret_fields}


def _fingerprints(values: dict[str, str]) -> dict[str, str]:
    """What a registry event says of secret values: their SHA-256, enough to show one was changed."""
    return {k: hashlib.sha256(v.encode("utf-8")).hexdigest() for k, v in sorted(values.items())}


async def get_secret(conn: AsyncConnection, kind: str, entry_id: str, field: str) -> str | None:
    """A secret field's current value (the ingestor's and the command relay's way to a valve secret)."""
    return (await conn.execute(sa.select(registry_secrets.c.value).where(
        registry_secrets.c.kind == kind, registry_secrets.c.id == entry_id, registry_secrets.c.field == field,
    ))).scalar_one_or_none()


async def _entry_with_secrets(conn: AsyncConnection, kind: RegistryKind, entry_id: str) -> dict[str, Any] | None:
    entry = await get_entry(conn, kind.kind, entry_id)
    if entry is None or not kind.secret_fields:
        return entry
    rows = (await conn.execute(sa.select(registry_secrets.c.field, registry_secrets.c.value).where(
        registry_secrets.c.kind == kind.kind, registry_secrets.c.id == entry_id))).all()
    return {**entry, **{r.field: r.value for r in rows}}


async def _store_secrets(tx: Tx, kind: RegistryKind, entry_id: str, values: dict[str, str]) -> None:
    for field, value in sorted(values.items()):
        await upsert(tx.conn, registry_secrets, ["kind", "id", "field"],
                     {"kind": kind.kind, "id": entry_id, "field": field, "value": value, "updated_at": tx.now})


def require_writer(principal: Principal, kind: RegistryKind, entry: dict[str, Any]) -> None:
    """Admins and regulators write every registry; a company admin its own company's entries."""
    if principal.role in ("admin", "regulator"):
        return
    principal.require("company_admin")
    if not kind.company_scoped:
        principal.require("admin", "regulator")
    principal.require_company(entry_company(kind, entry))


async def get_entry(conn: AsyncConnection, kind: str, entry_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(sa.select(registry.c.data).where(registry.c.kind == kind, registry.c.id == entry_id))
    ).first()
    return dict(row.data) if row else None


async def require_entry(tx: Tx, kind: str, entry_id: str, field: str) -> dict[str, Any]:
    """A registry entry a command names; an unknown one is invalid input naming the field."""
    entry = await tx.entry(kind, entry_id)
    if entry is None:
        raise InvalidInput(field, f"unknown {kind} {entry_id!r}")
    return entry


async def _check_company_exists(tx: Tx, kind: RegistryKind, entry: dict[str, Any]) -> None:
    if kind.company_scoped:
        await require_entry(tx, "company", entry["company_id"], "company_id")


async def create_entry(tx: Tx, kind: RegistryKind, entry: dict[str, Any], principal: Principal, *,
                       cipher: PersonalDataCipher | None = None) -> Outcome:
    """Create an entry; the same body again answers with the entry, another body is a conflict. Personal
    fields are sealed with ``cipher`` (the answer holds them sealed: the door shows or masks them)."""
    require_writer(principal, kind, entry)
    entry_id = str(entry[kind.id_field])
    existing = await _entry_with_secrets(tx.conn, kind, entry_id)
    if existing is not None:
        if not principal.can_read_records_of(entry_company(kind, existing)):
            # another company's entry: neither its values nor that it could be changed are told
            raise Conflict(f"the {kind.id_field} {entry_id!r} is taken: choose another")
        if opened(kind, existing, cipher) == {**entry, **_secrets_of(kind, entry)}:
            return Outcome(200, public_view(kind, existing))
        raise Conflict(f"{kind.kind} {entry_id!r} exists with other values; change it with PATCH")
    await _check_company_exists(tx, kind, entry)
    stream = registry_stream(kind.kind, entry_id)
    await tx.load_stream(stream)
    secrets = _secrets_of(kind, entry)
    entry = _sealed(kind, entry, cipher)
    data: dict[str, Any] = {"kind": kind.kind, "id": entry_id, "entry": public_view(kind, entry)}
    if secrets:
        data["secrets"] = _fingerprints(secrets)
        await _store_secrets(tx, kind, entry_id, secrets)
    await tx.record([NewEvent(ev.REGISTRY_ENTRY_CREATED, data, tx.now, stream)],
                    event_id=_entry_event_id(stream, 1), actor=principal.actor)
    return Outcome(201, public_view(kind, entry))


async def change_entry(
    tx: Tx, kind: RegistryKind, entry_id: str, changes: dict[str, Any], principal: Principal, *,
    cipher: PersonalDataCipher | None = None,
) -> Outcome:
    existing = await _entry_with_secrets(tx.conn, kind, entry_id)
    if existing is None:
        raise NotFound(kind.kind, entry_id)
    require_writer(principal, kind, existing)
    if kind.id_field in changes and changes[kind.id_field] != entry_id:
        raise InvalidInput(kind.id_field, "an entry's id cannot change")
    plain = opened(kind, existing, cipher)
    changes = {k: v for k, v in changes.items() if plain.get(k) != v}  # a value given again is no change
    after = {**existing, **_sealed(kind, changes, cipher)}
    require_writer(principal, kind, after)
    if not changes:
        return Outcome(200, public_view(kind, existing))
    changes = {k: after[k] for k in changes}
    await _check_company_exists(tx, kind, after)
    stream = registry_stream(kind.kind, entry_id)
    history = await tx.load_stream(stream)
    before = {k: existing.get(k) for k in changes}
    data: dict[str, Any] = {"kind": kind.kind, "id": entry_id, "entry": public_view(kind, after),
                            "changes": public_view(kind, changes), "before": public_view(kind, before)}
    changed_secrets = {k: v for k, v in _secrets_of(kind, after).items() if existing.get(k) != v}
    if changed_secrets:
        data["secrets"] = _fingerprints(changed_secrets)
        await _store_secrets(tx, kind, entry_id, changed_secrets)
    await tx.record([NewEvent(ev.REGISTRY_ENTRY_CHANGED, data, tx.now, stream)],
                    event_id=_entry_event_id(stream, len(history) + 1), actor=principal.actor)
    return Outcome(200, public_view(kind, after))


def _entry_event_id(stream: str, version: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cylinder-trace:{stream}:{version}"))
