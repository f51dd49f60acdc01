"""Census import (普查导入) through the register handler: good rows in, bad rows reported with row, column
and reason, and a second run of the same file storing nothing new."""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.census import CensusFileError, ImportReport, RowContext, import_census, prepare
from cylinder_trace.app.services import Services
from cylinder_trace.store.tables import events
from tests.support import factories as f
from tests.support.census import PREFIX, TAKEN_CODE, Census, make_census


async def census_town(c: httpx.AsyncClient) -> None:
    await f.company(c, gs1_company_prefix=PREFIX)
    await f.company(c, "C2")
    await f.customer(c, "U1")
    await f.customer(c, "U9", company_id="C2")
    await f.cylinder(c, code=TAKEN_CODE)


async def event_count(services: Services) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar_one())


def errors_of(report: ImportReport) -> set[tuple[int, str]]:
    return {(e.row, e.field) for e in report.errors}


async def import_twice(services: Services, census: Census, path: Path) -> tuple[ImportReport, ImportReport]:
    before = await event_count(services)
    first = await import_census(services.uow, path, "C1", services.codes, batch_size=200)
    after_first = await event_count(services)
    second = await import_census(services.uow, path, "C1", services.codes, batch_size=200)
    assert await event_count(services) == after_first, "the second run stored nothing"
    assert after_first - before == census.good, "one registration event per good row"
    return first, second


def check_reports(census: Census, first: ImportReport, second: ImportReport) -> None:
    assert errors_of(first) == census.expected_errors
    assert first.error_rows == len(census.expected_errors) and len(first.errors) == len(census.expected_errors)
    assert (first.imported, first.already_present, first.rows) == (census.good, 0, len(census.rows))
    assert errors_of(second) == census.expected_errors
    assert (second.imported, second.already_present) == (0, census.good)
    assert second.codes == first.codes


async def test_a_census_goes_in_once_with_a_per_row_error_report(
        client: httpx.AsyncClient, services: Services, tmp_path: Path) -> None:
    await census_town(client)
    census = make_census(700)  # every kind of bad row at least once
    assert Counter(field for _, field in census.expected_errors)["code"] >= 3
    path = census.write_csv(tmp_path / "census.csv")
    first, second = await import_twice(services, census, path)
    check_reports(census, first, second)
    reasons = {(e.row, e.field): e.reason for e in first.errors}
    row_of = {kind: row for row, kind in census.expected_errors}
    assert "unknown cylinder model 'YSP99'" in reasons[(row_of["model"], "model")]
    twice = [r for (r, fld), why in reasons.items() if fld == "code" and why.startswith("the same cylinder as row")]
    taken = [r for (r, fld), why in reasons.items() if fld == "code" and "already registered" in why]
    assert len(twice) >= 1 and len(taken) == 1
    # each kind of good row ends up as the census says
    rows = {i + 2: row for i, row in enumerate(census.rows)}
    for number, code in list(first.codes.items())[:300]:
        row = rows[number]
        state = await f.ok(await client.get(f"/api/v1/cylinders/{code}"))
        assert state["model"] == row["model"] and state["manufactured_on"] == row["manufactured_on"]
        if "code" in row:
            assert code == row["code"]
        if "owner_customer_id" in row:
            assert state["owner"] == {"customer_id": "U1"} and code.startswith("06999999")
            assert state["status"] == "at_customer"
        elif "at_customer_id" in row:
            assert state["owner"] == {"company_id": "C1"} and state["status"] == "at_customer"
            assert state["holder"] == {"kind": "customer", "id": "U1"} and state["customer_id"] == "U1"
        else:
            assert state["owner"] == {"company_id": "C1"} and state["status"] == "empty_in_stock"
        if "serial" in row:
            assert state["serial"] == row["serial"]
    history = await f.ok(await client.get(f"/api/v1/cylinders/{next(iter(first.codes.values()))}/history"))
    assert [e["source"] for e in history["events"]] == ["import"]
    # the error report a person opens
    out = tmp_path / "errors.csv"
    first.write_errors_csv(out)
    with out.open(encoding="utf-8-sig") as fh:
        lines = list(csv.DictReader(fh))
    assert {(int(line["row"]), line["field"]) for line in lines} == census.expected_errors
    assert all(line["reason"] for line in lines)


async def test_an_xlsx_census_with_date_cells(client: httpx.AsyncClient, services: Services, tmp_path: Path) -> None:
    await census_town(client)
    census = make_census(120, bad_share=0.05, seed=7)
    census.rows.append({"code": 690123400004, "model": "YSP35.5", "manufacturer_code": "M1",
                        "manufactured_on": "2020-01-01"})  # a code typed as a number: its leading 0 is gone
    census.expected_errors.add((len(census.rows) + 1, "code"))
    path = census.write_xlsx(tmp_path / "census.xlsx")
    first, second = await import_twice(services, census, path)
    check_reports(census, first, second)
    numeric = next(e for e in first.errors if e.row == len(census.rows) + 1)
    assert "format the column as text" in numeric.reason


async def test_a_row_changed_since_its_import_is_reported_not_changed(
        client: httpx.AsyncClient, services: Services, tmp_path: Path) -> None:
    await census_town(client)
    census = make_census(30, bad_share=0)
    path = census.write_csv(tmp_path / "census.csv")
    first = await import_census(services.uow, path, "C1", services.codes)
    assert first.imported == 30 and not first.errors
    census.rows[4]["tare_kg"] = "99.9"
    census.write_csv(path)
    again = await import_census(services.uow, path, "C1", services.codes)
    assert (again.imported, again.already_present) == (0, 29)
    [error] = again.errors
    assert error.row == 6 and "imported before with other values" in error.reason


async def test_a_file_that_cannot_be_a_census(client: httpx.AsyncClient, services: Services, tmp_path: Path) -> None:
    await census_town(client)
    no_model = tmp_path / "no_model.csv"
    no_model.write_text("code,manufacturer_code,manufactured_on\n,M1,2020-01-01\n", encoding="utf-8")
    with pytest.raises(CensusFileError, match=r"required column.*model"):
        await import_census(services.uow, no_model, "C1", services.codes)
    with pytest.raises(CensusFileError, match="unknown company"):
        await import_census(services.uow, no_model, "C404", services.codes)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("model,manufacturer_code,manufactured_on\nYSP35.5,大岗子,2020-01-01\n".encode("gbk"))
    with pytest.raises(CensusFileError, match="UTF-8"):
        await import_census(services.uow, gbk, "C1", services.codes)
    extra = tmp_path / "extra.csv"
    extra.write_text("Model, Manufacturer Code ,manufactured_on,备注\nYSP35.5,M1,2020-01-01,仓库\n", encoding="utf-8")
    report = await import_census(services.uow, extra, "C1", services.codes)
    assert report.imported == 1 and report.ignored_columns == ["备注"]


@pytest.mark.postgres
async def test_ten_thousand_rows_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    from cylinder_trace.api.main import create_app
    from cylinder_trace.app.services import build_services
    from cylinder_trace.settings import Settings

    services = build_services(Settings(database_url=pg_url, admin_token="t", embedded_broker=False))
    try:
        app = create_app(services.settings, services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     headers={"Authorization": "Bearer t"}) as c:
            await census_town(c)
        census = make_census(10_000)
        assert 190 <= len(census.expected_errors) <= 210
        path = census.write_csv(tmp_path / "census.csv")
        started = time.perf_counter()
        first, second = await import_twice(services, census, path)
        elapsed = time.perf_counter() - started
        check_reports(census, first, second)
        print(f"10,000-row census on PostgreSQL, both runs: {elapsed:.1f} s")
    finally:
        await services.close()


def test_a_serial_the_company_prefix_leaves_no_room_for_is_a_row_error_not_an_aborted_import() -> None:
    ctx = RowContext("C1", company_prefix="123456789012", jurisdiction_prefix="6999999")
    row = {"serial": "A1", "model": "YSP35.5", "manufacturer_code": "M01", "manufactured_on": "2023-05-01"}
    rows, errors = prepare([(2, row)], ctx)
    assert rows == []
    assert [(e.row, e.field) for e in errors] == [(2, "code")] and "leaves no digits" in errors[0].reason
