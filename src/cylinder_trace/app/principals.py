"""Who is calling: principals, roles and their tokens (stored only as a hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.tables import principals
from .errors import Forbidden, InvalidInput, NotFound

Role = Literal["admin", "regulator", "company_admin", "station_operator", "delivery_worker", "inspector"]
ROLES: Final[tuple[str, ...]] = (
    "admin", "regulator", "company_admin", "station_operator", "delivery_worker", "inspector",
)
#: roles that act for every company (inspectors: on cylinders only, see :meth:`Principal.can_read_records_of`)
GLOBAL_ROLES: Final = frozenset({"admin", "regulator", "inspector"})
COMPANY_ROLES: Final = frozenset({"company_admin", "station_operator", "delivery_worker"})


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    role: Role
    name: str
    company_id: str | None = None
    station_id: str | None = None
    staff_id: str | None = None
    agency_id: str | None = None
    #: refused from then on (a cached principal too: ``principal_cache.py``)
    expires_at: datetime | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.id}"

    @property
    def sees_all_companies(self) -> bool:
        return self.role in GLOBAL_ROLES

    @property
    def sees_unmasked_ids(self) -> bool:
        return self.role in ("admin", "regulator")

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this (needs one of: {', '.join(roles)})")

    def require_company(self, company_id: str | None) -> None:
        """A company role acts only for its own company."""
        if self.sees_all_companies:
            return
        if company_id is None or company_id != self.company_id:
            raise Forbidden(f"this token acts only for company {self.company_id}")

    def require_station(self, station_id: str) -> None:
        """An operator bound to a station acts only at that station."""
        if self.role == "station_operator" and self.station_id is not None and station_id != self.station_id:
            raise Forbidden(f"this token acts only at station {self.station_id}")

    def can_read_company(self, company_id: str | None) -> bool:
        """Cylinders (and their history, labels, events) of ``company_id``: inspectors read every company's."""
        return self.sees_all_companies or (company_id is not None and company_id == self.company_id)

    def can_read_records_of(self, company_id: str | None) -> bool:
        """Registries, findings and ledgers of ``company_id``: admin and regulator every company's, company
        staff their own; inspectors none (they read cylinders only)."""
        return self.role != "inspector" and self.can_read_company(company_id)

    def listed_company(self, wanted: str | None, what: str) -> str | None:
        """The company whose ``what`` (findings, ledgers, events) this caller may list: ``wanted`` (None:
        every company) for one who sees all companies, otherwise its own, and no other. Inspectors list
        cylinders only (their events are read through :meth:`can_read_company`)."""
        if self.role == "inspector":
            raise Forbidden(f"an inspector reads no {what}")
        if self.sees_all_companies:
            return wanted
        if wanted is not None and wanted != self.company_id:
            raise Forbidden(f"this token may read only its own company's {what}")
        if self.company_id is None:
            raise Forbidden("this token belongs to no company")
        return self.company_id


def admin_principal() -> Principal:
    return Principal(id="admin", role="admin", name="administrator")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "ct_" + secrets.token_urlsafe(32)


async def authenticate(conn: AsyncConnection, token: str, admin_token: str, now: datetime) -> Principal | None:
    """The principal a token stands for; None when it is unknown, revoked or past its ``expires_at``."""
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return admin_principal()
    row = (await conn.execute(sa.select(principals).where(principals.c.token_hash == hash_token(token)))).first()
    if row is None:
        return None
    m = row._mapping
    if m["revoked_at"] is not None or (m["expires_at"] is not None and m["expires_at"] <= now):
        return None
    return Principal(id=m["id"], role=m["role"], name=m["name"], company_id=m["company_id"],
                     station_id=m["station_id"], staff_id=m["staff_id"], agency_id=m["agency_id"],
                     expires_at=m["expires_at"])


@dataclass(frozen=True, slots=True)
class NewPrincipal:
    role: str
    name: str
    company_id: str | None = None
    station_id: str | None = None
    staff_id: str | None = None
    agency_id: str | None = None
    #: the token is refused from then on (None: it does not expire; it can still be revoked)
    expires_at: datetime | None = None


def _require_maker(spec: NewPrincipal, created_by: Principal) -> None:
    """Who makes tokens (API.md, Conventions): an admin any; a company admin only the company roles of its
    own company; nobody else."""
    if created_by.role == "admin":
        return
    if created_by.role != "company_admin":
        raise Forbidden("only an admin or a company admin makes tokens")
    if spec.role not in COMPANY_ROLES:
        raise Forbidden("a company admin makes only company_admin, station_operator and delivery_worker tokens")
    created_by.require_company(spec.company_id)


async def _check_bindings(conn: AsyncConnection, spec: NewPrincipal, now: datetime) -> None:
    """Everything a token is bound to exists and belongs together (422 naming the field otherwise)."""
    from .registries import get_entry  # registries know principals: imported here, not at the top

    async def require_entry(kind: str, entry_id: str, field: str) -> dict[str, Any]:
        entry = await get_entry(conn, kind, entry_id)
        if entry is None:
            raise InvalidInput(field, f"unknown {kind} {entry_id!r}")
        return entry

    company_role = spec.role in COMPANY_ROLES
    for field, value, allowed in (("company_id", spec.company_id, company_role),
                                  ("station_id", spec.station_id, company_role),
                                  ("staff_id", spec.staff_id, company_role),
                                  ("agency_id", spec.agency_id, spec.role == "inspector")):
        if value is not None and not allowed:
            raise InvalidInput(field, f"a {spec.role} token is not bound to a {field.removesuffix('_id')}")
    if company_role:
        if not spec.company_id:
            raise InvalidInput("company_id", f"required for role {spec.role}")
        await require_entry("company", spec.company_id, "company_id")
        for field, kind, value in (("station_id", "station", spec.station_id), ("staff_id", "staff", spec.staff_id)):
            if value is None:
                continue
            entry = await require_entry(kind, value, field)
            if entry.get("company_id") != spec.company_id:
                raise InvalidInput(field, f"{kind} {value!r} is not of company {spec.company_id}")
    if spec.role == "inspector":
        if not spec.agency_id:
            raise InvalidInput("agency_id", "required for role inspector: an inspector records for its own agency")
        await require_entry("agency", spec.agency_id, "agency_id")
    if spec.expires_at is not None and spec.expires_at <= now:
        raise InvalidInput("expires_at", "must lie in the future")


async def create_principal(
    conn: AsyncConnection, spec: NewPrincipal, created_by: Principal, now: datetime
) -> tuple[str, str]:
    """Store a principal; returns ``(id, token)``. The token is shown only this once."""
    if spec.role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    _require_maker(spec, created_by)
    await _check_bindings(conn, spec, now)
    token = new_token()
    principal_id = str(uuid.uuid4())
    await conn.execute(sa.insert(principals).values(
        id=principal_id, role=spec.role, name=spec.name, company_id=spec.company_id,
        station_id=spec.station_id, staff_id=spec.staff_id, agency_id=spec.agency_id,
        token_hash=hash_token(token), created_at=now, created_by=created_by.id, expires_at=spec.expires_at,
    ))
    return principal_id, token


async def principal_names(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, str]:
    """The names of the principals with these ids (an actor ``role:id`` names one; ``admin`` is the
    administrator of ``CT_ADMIN_TOKEN``)."""
    wanted = sorted(set(ids))
    names = {"admin": admin_principal().name} if "admin" in wanted else {}
    if wanted:
        rows = await conn.execute(sa.select(principals.c.id, principals.c.name).where(principals.c.id.in_(wanted)))
        names.update({str(r.id): str(r.name) for r in rows})
    return names


async def revoke_principal(conn: AsyncConnection, principal_id: str, by: Principal, now: datetime) -> dict[str, Any]:
    """Revoke a token at once (an admin any; a company admin its own company's). Revoking it again
    changes nothing and answers the same."""
    if by.role not in ("admin", "company_admin"):
        raise Forbidden("only an admin or a company admin revokes tokens")
    row = (await conn.execute(sa.select(principals).where(principals.c.id == principal_id))).first()
    if row is None:
        raise NotFound("principal", principal_id)
    if by.role == "company_admin" and (row.company_id is None or row.company_id != by.company_id):
        raise Forbidden("a company admin revokes only its own company's tokens")
    revoked_at = row.revoked_at
    if revoked_at is None:
        revoked_at = now
        await conn.execute(sa.update(principals).where(principals.c.id == principal_id)
                           .values(revoked_at=now, revoked_by=by.id))
        from .principal_cache import principals_changed  # it knows principals: imported here

        await principals_changed(conn)  # every process forgets the tokens it has cached
    return {"id": principal_id, "role": row.role, "name": row.name, "company_id": row.company_id,
            "revoked_at": revoked_at.isoformat()}
