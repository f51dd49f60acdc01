"""A generated census (普查) of a company's cylinders, with bad rows of many kinds whose errors are known
in advance: for the import tests and the import benchmark.

The town it expects: company ``C1`` (GS1 prefix 6901234) with customer ``U1``; company ``C2`` with
customer ``U9``; and, registered before the import, the cylinder :data:`TAKEN_CODE`.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cylinder_trace.app.census import COLUMNS
from cylinder_trace.domain.codes import ASSET_TYPE_BY_MODEL, make_grai

PREFIX = "6901234"
MODELS = ("YSP4.7", "YSP12", "YSP26.2", "YSP35.5", "YSP118", "YSP118-II")
#: a code registered through the API before the census: the census row naming it is refused
TAKEN_CODE = make_grai(PREFIX, ASSET_TYPE_BY_MODEL["YSP35.5"], "TAKEN1").code

#: each kind of bad row: what is wrong with it, and the column the error report must name
BAD_KINDS: dict[str, str] = {
    "unknown_model": "model",
    "not_a_date": "manufactured_on",
    "made_in_the_future": "manufactured_on",
    "bad_check_digit": "code",
    "code_twice": "code",
    "unknown_customer": "owner_customer_id",
    "no_manufacturer": "manufacturer_code",
    "tare_not_a_number": "tare_kg",
    "inspected_before_made": "last_inspected_on",
    "another_company": "owner_company_id",
    "two_owners": "owner_company_id",
    "customer_of_another_company": "at_customer_id",
    "bad_serial": "serial",
    "code_already_registered": "code",
}


@dataclass
class Census:
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: (row number in the file, column) of every error the import must report
    expected_errors: set[tuple[int, str]] = field(default_factory=set)
    good: int = 0

    def write_csv(self, path: Path) -> Path:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def write_xlsx(self, path: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("普查")
        sheet.append(list(COLUMNS))
        for row in self.rows:
            sheet.append([_cell(row.get(c)) for c in COLUMNS])
        book.save(path)
        return path


def _cell(value: Any) -> Any:
    """Dates as date cells (a spreadsheet's habit); everything else as text."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[:4].isdigit():
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _good(i: int, rng: random.Random) -> dict[str, Any]:
    model = rng.choice(MODELS)
    made = date(2016, 1, 1) + timedelta(days=rng.randrange(0, 3900))
    row: dict[str, Any] = {"model": model, "manufacturer_code": f"M{rng.randrange(1, 40):02d}",
                           "manufactured_on": made.isoformat()}
    if rng.random() < 0.6:
        span = (date(2026, 11, 1) - made).days
        row["last_inspected_on"] = (made + timedelta(days=rng.randrange(0, span))).isoformat()
    if rng.random() < 0.8:
        row["tare_kg"] = f"{rng.uniform(4, 60):.1f}"
    kind = rng.random()
    if kind < 0.40:
        row["code"] = make_grai(PREFIX, ASSET_TYPE_BY_MODEL[model], f"K{i}").code
    elif kind < 0.70:
        row["serial"] = f"S{i}"
    elif kind < 0.75:
        row["owner_customer_id"] = "U1"
        row["serial"] = f"U{i}"
    elif kind < 0.80:
        row["at_customer_id"] = "U1"
        row["serial"] = f"A{i}"
    # else: neither code nor serial — the next free serial
    return row


def _bad(kind: str, i: int, rng: random.Random, earlier_code: str) -> dict[str, Any]:
    row = _good(i, rng)
    row.pop("code", None)
    row.pop("owner_customer_id", None)
    row.pop("at_customer_id", None)
    row["serial"] = f"B{i}"
    if kind == "unknown_model":
        row["model"] = "YSP99"
    elif kind == "not_a_date":
        row["manufactured_on"] = "2020-13-01"
        row.pop("last_inspected_on", None)
    elif kind == "made_in_the_future":
        row["manufactured_on"] = "2099-01-01"
        row.pop("last_inspected_on", None)
    elif kind == "bad_check_digit":
        good = make_grai(PREFIX, 4, f"X{i}").code
        row["code"] = good[:13] + str((int(good[13]) + 1) % 10) + good[14:]
        row.pop("serial")
    elif kind == "code_twice":
        row["code"] = earlier_code
        row.pop("serial")
    elif kind == "unknown_customer":
        row["owner_customer_id"] = "NOPE"
    elif kind == "no_manufacturer":
        row["manufacturer_code"] = ""
    elif kind == "tare_not_a_number":
        row["tare_kg"] = "十五"
    elif kind == "inspected_before_made":
        row["last_inspected_on"] = "2010-01-01"
    elif kind == "another_company":
        row["owner_company_id"] = "C2"
    elif kind == "two_owners":
        row["owner_company_id"] = "C1"
        row["owner_customer_id"] = "U1"
    elif kind == "customer_of_another_company":
        row["at_customer_id"] = "U9"
    elif kind == "bad_serial":
        row["serial"] = "AB-12"
    elif kind == "code_already_registered":
        row["code"] = TAKEN_CODE
        row["model"] = "YSP35.5"
        row.pop("serial")
    return row


def make_census(count: int, bad_share: float = 0.02, seed: int = 1) -> Census:
    """``count`` rows, about ``bad_share`` of them bad (the kinds taken in turn)."""
    rng = random.Random(seed)
    census = Census()
    kinds = list(BAD_KINDS)
    bad_every = max(1, round(1 / bad_share)) if bad_share else 0
    earlier_code = ""
    for i in range(count):
        number = i + 2  # the header is row 1
        if bad_every and i % bad_every == bad_every - 1 and earlier_code:
            kind = kinds[(i // bad_every) % len(kinds)]
            census.rows.append(_bad(kind, i, rng, earlier_code))
            census.expected_errors.add((number, BAD_KINDS[kind]))
            continue
        row = _good(i, rng)
        if "code" in row:
            earlier_code = row["code"]
        census.rows.append(row)
        census.good += 1
    return census
