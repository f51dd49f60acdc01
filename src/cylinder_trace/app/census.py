"""Bulk census import (普查导入): a company's existing cylinders from a CSV or XLSX file.

Each good row goes through the same handler as ``POST /api/v1/cylinders`` (``register_cylinder``) as a
command of its own, and the unit of work stores many of them in one transaction (a refused row costs
only itself: ``app/appender.py``). Bad rows are
reported with their row number, the column and the reason, and nothing of them is stored.

Idempotent: a row's ``event_id`` is derived from what the row *is* — its code (given, or made from
the owner's prefix, the model and the serial), or for a row with neither, its content and how many
identical rows came before it — never from its place in the file. Running the same census again
stores nothing new and reports those rows as already present; a row whose cylinder was imported
before with other values is reported, not changed (changes go through the API).

Columns (first row of the file or first sheet; names are case-insensitive): see :data:`COLUMNS`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.canonical import canonical_json
from ..domain.codes import ASSET_TYPE_BY_MODEL, SERIAL_RE, InvalidCode, parse_grai
from ..store.db import any_of
from ..store.tables import command_log
from .cylinders import (
    CodeSettings,
    Registration,
    asset_type_for,
    company_code_prefix,
    generated_grai,
    register_cylinder,
)
from .errors import AppError, Conflict, Forbidden, InvalidInput
from .principals import Principal
from .registries import get_entry
from .unit_of_work import Command, Needs, Outcome, Tx, UnitOfWork, command_body_hash

#: every column the import reads, with what it means (the CLI help and the README show this)
COLUMNS: Final[dict[str, str]] = {
    "code": "optional: the GRAI already on the cylinder (check digit verified; must be unused); "
            "keep the column as text in a spreadsheet",
    "serial": "optional: the code's serial (1-16 of A-Z a-z 0-9); with no code, the code is made from the "
              "owner's GS1 prefix, the model's asset type and this serial; with neither, the next free serial",
    "model": "required: YSP4.7, YSP12, YSP26.2, YSP35.5, YSP118 or YSP118-II",
    "manufacturer_code": "required: the manufacturer's code stamped on the cylinder",
    "manufactured_on": "required: date of manufacture, YYYY-MM-DD (or a date cell)",
    "owner_company_id": "optional: the owning company; must be the company being imported (the default)",
    "owner_customer_id": "optional: instead of a company, the customer who owns the cylinder (用户自有)",
    "last_inspected_on": "optional: the last passing periodic inspection, YYYY-MM-DD",
    "tare_kg": "optional: tare mass in kg (0-1000)",
    "at_customer_id": "optional: the customer at whose premises a company cylinder sits now",
    "in_service_since": "optional: the day the cylinder became the company's, YYYY-MM-DD; default: its day of "
                        "manufacture (a census registers the existing fleet, not new cylinders)",
}
REQUIRED: Final = ("model", "manufacturer_code", "manufactured_on")
COMMAND_KIND: Final = "census_register"
#: rows stored in one transaction: large enough that a chunk's fixed costs (its reads, the lock, the
#: commit) are small beside its rows, small enough that other writes wait only ~0.1 s for the lock
CHUNK_ROWS: Final = 1000
_NAMESPACE: Final = uuid.UUID("1c0b8a5e-4f0e-4d8e-9a53-3d1c2e6f7a90")
#: where the handler's field names point in the file
_FIELD_COLUMN: Final = {"owner": "owner_company_id", "owner.company_id": "owner_company_id",
                        "owner.customer_id": "owner_customer_id"}

RowStatus = Literal["imported", "already_present", "error"]


class CensusFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, no header, a required column missing)."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    reason: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class CensusRow:
    row: int
    #: plain JSON values (dates as ISO text): the registration body, and what identifies the command
    values: dict[str, Any]
    event_id: str
    #: the code when the row fixes it (given, or made from prefix, model and serial)
    code: str | None


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    #: row number → the code it was registered (or found) under
    codes: dict[int, str] = field(default_factory=dict)

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def write_errors_csv(self, path: Path) -> None:
        """One line per error: row, field, reason, code (UTF-8 with BOM, so spreadsheets read Chinese)."""
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["row", "field", "reason", "code"])
            for e in sorted(self.errors, key=lambda e: (e.row, e.field)):
                writer.writerow([e.row, e.field, e.reason, e.code])


# --- reading the file -------------------------------------------------------------------------------
def _header(cells: Sequence[Any]) -> list[str]:
    return [str(c or "").strip().lower().replace(" ", "_").lstrip("\ufeff") for c in cells]


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """The header and the data rows as ``(row number in the file, {column: cell})``; the header is row 1.
    CSV is read as UTF-8 (a BOM is fine); XLSX from its first sheet."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise CensusFileError(f"{path.name}: a census is a .csv or .xlsx file")


def _rows(header: list[str], lines: Iterable[Sequence[Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, cells in enumerate(lines, start=2):
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue
        yield number, {name: cells[i] if i < len(cells) else None for i, name in enumerate(header) if name}


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CensusFileError(f"{path.name}: not UTF-8 text ({exc.reason}); save the CSV as UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    first = next(reader, None)
    if first is None:
        raise CensusFileError(f"{path.name}: the file is empty")
    header = _header(first)
    return header, _rows(header, reader)


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise CensusFileError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    lines = book.worksheets[0].iter_rows(values_only=True)
    first = next(lines, None)
    if first is None:
        raise CensusFileError(f"{path.name}: the first sheet is empty")
    header = _header(first)
    return header, _rows(header, lines)


def check_header(header: Sequence[str]) -> list[str]:
    """The columns that will be ignored; :class:`CensusFileError` when a required one is missing."""
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CensusFileError(f"required column(s) missing: {', '.join(missing)} (the first row names the columns)")
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    if duplicated:
        raise CensusFileError(f"column(s) named twice: {', '.join(duplicated)}")
    return [c for c in header if c and c not in COLUMNS]


# --- one row --------------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True, slots=True)
class RowContext:
    company_id: str
    #: the GS1 prefix of the company's codes, and of customer-owned cylinders
    company_prefix: str
    jurisdiction_prefix: str


def _code_of(values: Mapping[str, Any], ctx: RowContext) -> str | None:
    """The code a row names, or the code its serial makes (None when the row leaves it to the counter)."""
    if values.get("code"):
        return str(values["code"])
    serial, model = values.get("serial"), values.get("model")
    if serial and model in ASSET_TYPE_BY_MODEL:
        prefix = ctx.jurisdiction_prefix if values.get("owner_customer_id") else ctx.company_prefix
        return generated_grai(prefix, asset_type_for(str(model), prefix), str(serial)).code
    return None


def parse_row(number: int, raw: Mapping[str, Any], ctx: RowContext) -> tuple[dict[str, Any] | None, list[RowError]]:
    """A row's values as plain JSON, or the errors of form (types, required cells, code and serial
    syntax). The rules (known model, dates in order, customers that exist …) are the handler's."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    code_text = raw.get("code")
    if isinstance(code_text, int | float) and not isinstance(code_text, bool):
        errors.append(RowError(number, "code", "the cell holds a number (its leading 0 is lost); "
                                               "format the column as text"))
    for name in COLUMNS:
        text = _text(raw.get(name))
        if name in REQUIRED and text is None:
            errors.append(RowError(number, name, "required"))
            continue
        if text is None:
            continue
        try:
            if name in ("manufactured_on", "last_inspected_on", "in_service_since"):
                values[name] = _day(raw[name]).isoformat()
            elif name == "tare_kg":
                kg = float(text)
                if not 0 <= kg <= 1000:
                    raise ValueError(f"{text} is outside 0-1000 kg")
                values[name] = kg
            elif name == "code":
                if not any(e.field == "code" for e in errors):
                    values[name] = parse_grai(text).code
            elif name == "serial":
                if not SERIAL_RE.match(text):
                    raise ValueError(f"{text!r}: a serial is 1 to 16 characters of A-Z a-z 0-9")
                values[name] = text
            else:
                values[name] = text
        except InvalidCode as exc:
            errors.append(RowError(number, name, exc.reason, text))
        except ValueError as exc:
            errors.append(RowError(number, name, str(exc) if "could not convert" not in str(exc)
                                   else f"{text!r} is not a number"))
    if errors:
        return None, errors
    values.setdefault("owner_company_id", None if values.get("owner_customer_id") else ctx.company_id)
    return values, []


def prepare(lines: Iterable[tuple[int, Mapping[str, Any]]], ctx: RowContext) -> tuple[list[CensusRow], list[RowError]]:
    """Every row parsed and given its ``event_id``; rows of the same cylinder twice in the file are errors."""
    rows: list[CensusRow] = []
    errors: list[RowError] = []
    first_with_code: dict[str, int] = {}
    identical: dict[str, int] = {}
    for number, raw in lines:
        values, found = parse_row(number, raw, ctx)
        if values is None:
            errors.extend(found)
            continue
        try:
            code = _code_of(values, ctx)
        except InvalidInput as exc:  # the serial and the company's prefix make no code
            errors.append(RowError(number, _FIELD_COLUMN.get(exc.field, exc.field), exc.reason))
            continue
        if code is not None:
            if code in first_with_code:
                where = "code" if values.get("code") else "serial"
                errors.append(RowError(number, where, f"the same cylinder as row {first_with_code[code]}", code))
                continue
            first_with_code[code] = number
            key = f"code:{code}"
        else:
            content = canonical_json(values)
            identical[content] = identical.get(content, 0) + 1
            key = f"content:{content}#{identical[content]}"
        event_id = str(uuid.uuid5(_NAMESPACE, f"{ctx.company_id}|{key}"))
        rows.append(CensusRow(number, values, event_id, code))
    return rows, errors


# --- the import ------------------------------------------------------------------------------------
def _registration(row: CensusRow, event_id: str, occurred_at: datetime) -> Registration:
    v = row.values
    return Registration(
        event_id=event_id, model=v["model"], serial=v.get("serial"), manufacturer_code=v["manufacturer_code"],
        manufactured_on=date.fromisoformat(v["manufactured_on"]), owner_company_id=v.get("owner_company_id"),
        owner_customer_id=v.get("owner_customer_id"),
        last_inspected_on=date.fromisoformat(v["last_inspected_on"]) if v.get("last_inspected_on") else None,
        tare_kg=v.get("tare_kg"), code=v.get("code"), occurred_at=occurred_at,
        at_customer_id=v.get("at_customer_id"),
        in_service_since=date.fromisoformat(v["in_service_since"]) if v.get("in_service_since") else None,
        existing_fleet=True,
    )


def _error(row: CensusRow, exc: AppError) -> RowError:
    """A handler's refusal as a row error naming the column it is about."""
    code = row.code or ""
    if isinstance(exc, InvalidInput):
        return RowError(row.row, _FIELD_COLUMN.get(exc.field, exc.field), exc.reason, code)
    if isinstance(exc, Conflict):
        where = "code" if row.values.get("code") else "serial"
        if "already used with a different body" in str(exc):
            return RowError(row.row, where, "imported before with other values; change the cylinder through the API",
                            code)
        return RowError(row.row, where, str(exc), code)
    if isinstance(exc, Forbidden):
        return RowError(row.row, "owner_company_id", f"not a cylinder of the company being imported ({exc})", code)
    return RowError(row.row, "row", str(exc), code)


@dataclass(frozen=True, slots=True)
class _Done:
    row: CensusRow
    status: RowStatus
    code: str | None = None
    error: RowError | None = None


async def _logged(uow: UnitOfWork, event_ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The body hash and answer of each row already imported (one query for a whole chunk)."""
    async def reader(conn: AsyncConnection) -> dict[str, tuple[str, dict[str, Any]]]:
        rows = await conn.execute(sa.select(command_log.c.event_id, command_log.c.body_hash, command_log.c.response)
                                  .where(any_of(conn, command_log.c.event_id, list(event_ids))))
        return {r.event_id: (r.body_hash, r.response) for r in rows}

    return await uow.read(reader)


def _needs(rows: Sequence[CensusRow], company_id: str) -> Needs:
    customers = sorted({c for r in rows for c in (r.values.get("owner_customer_id"), r.values.get("at_customer_id"))
                        if c})
    return Needs(codes=tuple(sorted({r.code for r in rows if r.code})),
                 entries=(("company", company_id), *(("customer", c) for c in customers)))


async def _import_chunk(uow: UnitOfWork, chunk: Sequence[CensusRow], principal: Principal, codes: CodeSettings,
                        occurred_at: datetime) -> list[_Done]:
    """Every row of ``chunk`` through the register handler, as commands of one job of the appender (each
    row refused on its own); when one of them fails the job, row by row."""
    assert principal.company_id is not None
    company_id = principal.company_id
    bodies = {r.event_id: {"company_id": company_id, **r.values} for r in chunk}
    known = await _logged(uow, list(bodies))
    done: dict[int, _Done] = {}
    pending: list[CensusRow] = []
    for row in chunk:
        seen = known.get(row.event_id)
        if seen is not None and seen[0] == command_body_hash(COMMAND_KIND, bodies[row.event_id]):
            done[row.row] = _Done(row, "already_present", str(seen[1].get("code", row.code or "")))
        else:
            pending.append(row)

    def command(row: CensusRow) -> Command:
        async def handler(tx: Tx) -> Outcome:
            reg = _registration(row, row.event_id, occurred_at)
            return await register_cylinder(tx, reg, principal, codes, source="import", with_state=False)

        return Command(COMMAND_KIND, row.event_id, bodies[row.event_id], handler)

    def answer(row: CensusRow, outcome: Outcome | AppError) -> _Done:
        if isinstance(outcome, AppError):
            return _Done(row, "error", error=_error(row, outcome))
        return _Done(row, "imported", str(outcome.body.get("code")))

    if pending:
        try:
            outcomes = await uow.commands([command(r) for r in pending], _needs(pending, company_id))
        except Exception:  # a row failed the job as a whole: each row on its own then
            outcomes = await asyncio.gather(*(_one(uow, command(r), _needs([r], company_id)) for r in pending))
        for row, outcome in zip(pending, outcomes, strict=True):
            done[row.row] = answer(row, outcome)
    return [done[row.row] for row in chunk]


async def _one(uow: UnitOfWork, item: Command, needs: Needs) -> Outcome | AppError:
    try:
        return await uow.command(item.kind, item.event_id, item.body, item.handler, needs)
    except AppError as exc:
        return exc


async def company_context(uow: UnitOfWork, company_id: str, codes: CodeSettings) -> RowContext:
    company = await uow.read(lambda conn: get_entry(conn, "company", company_id))
    if company is None:
        raise CensusFileError(f"unknown company {company_id!r}: register it first")
    return RowContext(company_id, company_code_prefix(company, codes), codes.jurisdiction_prefix)


async def import_census(
    uow: UnitOfWork, path: Path, company_id: str, codes: CodeSettings, *, occurred_at: datetime | None = None,
    batch_size: int = CHUNK_ROWS, progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path`` for ``company_id``; ``progress(n)`` after every ``n`` rows handled."""
    ctx = await company_context(uow, company_id, codes)
    header, lines = read_table(path)
    report = ImportReport(ignored_columns=check_header(header))
    rows, report.errors = prepare(lines, ctx)
    report.rows = len(rows) + len({e.row for e in report.errors})
    if on_total is not None:
        on_total(report.rows)
    if progress is not None and report.errors:
        progress(len({e.row for e in report.errors}))
    principal = Principal(id="census-import", role="company_admin", name="census import", company_id=company_id)
    at = occurred_at or uow.clock()
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        for outcome in await _import_chunk(uow, batch, principal, codes, at):
            if outcome.status == "error":
                assert outcome.error is not None
                report.errors.append(outcome.error)
                continue
            if outcome.status == "imported":
                report.imported += 1
            else:
                report.already_present += 1
            if outcome.code:
                report.codes[outcome.row.row] = outcome.code
        if progress is not None:
            progress(len(batch))
    return report
