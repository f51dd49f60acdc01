"""Which labels to print: codes checked against the register and the caller's company, with the name of
the company each label shows (the owner, or for a customer's own cylinder the company serving it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.codes import InvalidCode, parse_grai
from ..domain.cylinder import CylinderState
from ..labels.render import LabelSpec
from ..store.tables import cylinders, registry
from .cylinders import CodeSettings
from .errors import Forbidden, InvalidInput
from .principals import Principal

#: how many codes one query looks up
_CHUNK: Final = 500


async def company_names(conn: AsyncConnection, company_ids: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    ids = sorted(company_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = (await conn.execute(sa.select(registry.c.id, registry.c.data).where(
            registry.c.kind == "company", registry.c.id.in_(ids[start:start + _CHUNK])))).all()
        names.update({r.id: str(r.data.get("name", "")) for r in rows})
    return names


async def label_for(conn: AsyncConnection, state: CylinderState, codes: CodeSettings) -> LabelSpec:
    names = await company_names(conn, {state.company_id} if state.company_id else set())
    return LabelSpec.for_grai(parse_grai(state.code), codes.public_base_url, names.get(state.company_id or "", ""))


async def labels_for(conn: AsyncConnection, wanted: Sequence[str], caller: Principal, codes: CodeSettings,
                     field: str = "codes") -> list[LabelSpec]:
    """One label per code, in the order given: 422 names the first malformed or unknown code (by its
    index), 403 the first of another company."""
    parsed: list[str] = []
    for index, raw in enumerate(wanted):
        try:
            parsed.append(parse_grai(raw).code)
        except InvalidCode as exc:
            raise InvalidInput(f"{field}.{index}", f"{raw!r} is not a valid cylinder code: {exc.reason}") from None
    companies: dict[str, str | None] = {}
    unique = sorted(set(parsed))
    for start in range(0, len(unique), _CHUNK):
        rows = (await conn.execute(sa.select(cylinders.c.code, cylinders.c.company_id).where(
            cylinders.c.code.in_(unique[start:start + _CHUNK])))).all()
        companies.update({r.code: r.company_id for r in rows})
    for index, code in enumerate(parsed):
        if code not in companies:
            raise InvalidInput(f"{field}.{index}", f"cylinder code {code} is not registered")
        if not caller.can_read_company(companies[code]):
            raise Forbidden(f"cylinder {code} belongs to another company")
    names = await company_names(conn, {c for c in companies.values() if c})
    return [LabelSpec.for_grai(parse_grai(code), codes.public_base_url, names.get(companies[code] or "", ""))
            for code in parsed]


async def company_codes(conn: AsyncConnection, company_id: str, *, include_scrapped: bool = False) -> list[str]:
    """Every cylinder code a company is responsible for, in code order (scrapped ones left out by default)."""
    query = sa.select(cylinders.c.code).where(cylinders.c.company_id == company_id).order_by(cylinders.c.code)
    if not include_scrapped:
        query = query.where(cylinders.c.status != "scrapped")
    return [str(r.code) for r in (await conn.execute(query)).all()]
