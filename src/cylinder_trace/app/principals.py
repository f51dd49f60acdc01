"""Who is calling: principals, roles and their tokens (stored only as a hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.tables import principals
from .errors import Forbidden, InvalidInput

Role = Literal["admin", "regulator", "company_admin", "station_operator", "delivery_worker", "inspector"]
ROLES: Final[tuple[str, ...]] = (
    "admin", "regulator", "company_admin", "station_operator", "delivery_worker", "inspector",
)
#: roles that act for every company
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

    def can_read_company(self, company_id: str | None) -> bool:
        return self.sees_all_companies or (company_id is not None and company_id == self.company_id)

    def listed_company(self, wanted: str | None, what: str) -> str | None:
        """The company whose ``what`` (findings, ledgers, events) this caller may list: ``wanted`` (None:
        every company) for one who sees all companies, otherwise its own, and no other."""
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


async def authenticate(conn: AsyncConnection, token: str, admin_token: str) -> Principal | None:
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return admin_principal()
    row = (await conn.execute(sa.select(principals).where(principals.c.token_hash == hash_token(token)))).first()
    if row is None:
        return None
    m = row._mapping
    return Principal(id=m["id"], role=m["role"], name=m["name"], company_id=m["company_id"],
                     station_id=m["station_id"], staff_id=m["staff_id"], agency_id=m["agency_id"])


@dataclass(frozen=True, slots=True)
class NewPrincipal:
    role: str
    name: str
    company_id: str | None = None
    station_id: str | None = None
    staff_id: str | None = None
    agency_id: str | None = None


async def create_principal(
    conn: AsyncConnection, spec: NewPrincipal, created_by: Principal, now: datetime
) -> tuple[str, str]:
    """Store a principal; returns ``(id, token)``. The token is shown only this once."""
    if spec.role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if spec.role in COMPANY_ROLES and not spec.company_id:
        raise InvalidInput("company_id", f"required for role {spec.role}")
    if spec.role == "admin" and created_by.role != "admin":
        raise Forbidden("only an admin creates admins")
    if created_by.role not in ("admin", "regulator"):
        created_by.require("company_admin")
        created_by.require_company(spec.company_id)
        if spec.role not in COMPANY_ROLES:
            raise Forbidden("a company admin creates only tokens of its own company's staff")
    token = new_token()
    principal_id = str(uuid.uuid4())
    await conn.execute(sa.insert(principals).values(
        id=principal_id, role=spec.role, name=spec.name, company_id=spec.company_id,
        station_id=spec.station_id, staff_id=spec.staff_id, agency_id=spec.agency_id,
        token_hash=hash_token(token), created_at=now, created_by=created_by.id,
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
