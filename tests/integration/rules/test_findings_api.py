"""The findings ledger through HTTP: filters and pages, status changes and who may make them, the
cylinder's open_findings, exports, and a rebuild from zero that gives the same ledger."""

from __future__ import annotations

import csv
import io

import httpx
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.projections.findings import FindingsProjection
from cylinder_trace.store.projections import rebuild
from cylinder_trace.store.tables import finding_evidence, finding_history, findings
from tests.support import factories as f

from .helpers import findings as list_findings
from .helpers import xlsx_rows


async def _some_findings(c: httpx.AsyncClient) -> str:
    """An overdue cylinder refused twice, an overfill, and a delivery without a safety check."""
    await f.town(c)
    overdue = (await f.cylinder(c, manufactured_on="2019-01-01"))["code"]
    assert (await f.fill(c, overdue)).status_code == 422
    assert (await f.fill(c, overdue)).status_code == 422
    good = (await f.cylinder(c))["code"]
    assert (await f.fill(c, good, net_mass_kg=16.0)).status_code == 422
    assert (await f.fill(c, good)).status_code == 201
    assert (await f.deliver(c, good, safety_check=None)).status_code == 201
    return overdue


async def test_filters_pages_and_one_finding_per_rule_and_subject(client: httpx.AsyncClient) -> None:
    overdue = await _some_findings(client)
    everything = await list_findings(client)
    assert [(x["rule"], x["subject"], x["evidence_count"]) for x in everything] == [
        ("FILL_OVERDUE_INSPECTION", f"cylinder:{overdue}", 2),
        ("FILL_OVERFILL", "station:S1", 1),
        ("SAFETY_CHECK_MISSING", "customer:U1", 1),
    ]
    assert [x["rule"] for x in await list_findings(client, severity="high")] == ["SAFETY_CHECK_MISSING"]
    assert [x["rule"] for x in await list_findings(client, subject="station:S1")] == ["FILL_OVERFILL"]
    assert await list_findings(client, company_id="C2") == []
    assert len(await list_findings(client, status="open", rule="FILL_OVERDUE_INSPECTION")) == 1
    page1 = await f.ok(await client.get("/api/v1/findings", params={"limit": 2}))
    page2 = await f.ok(await client.get("/api/v1/findings", params={"limit": 2, "cursor": page1["next_cursor"]}))
    assert [x["id"] for x in page1["items"] + page2["items"]] == [x["id"] for x in everything]
    assert page2["next_cursor"] is None
    cyl = await f.ok(await client.get(f"/api/v1/cylinders/{overdue}"))
    assert cyl["open_findings"] == 1
    listing = await f.ok(await client.get("/api/v1/cylinders", params={"overdue": "true"}))
    assert [c["open_findings"] for c in listing["items"]] == [1]


async def test_rectify_close_reopen_with_who_and_when(client: httpx.AsyncClient) -> None:
    overdue = await _some_findings(client)
    (finding,) = await list_findings(client, rule="FILL_OVERDUE_INSPECTION")
    fid = finding["id"]
    company = await f.token(client, "company_admin", company_id="C1")
    await f.company(client, "C2")
    other = await f.token(client, "company_admin", company_id="C2")
    regulator = await f.token(client, "regulator")
    url = f"/api/v1/findings/{fid}"
    # only a regulator closes, and only what the company claimed rectified
    assert (await client.post(f"{url}/close", json={"note": "x"}, headers=regulator)).status_code == 409
    assert (await client.post(f"{url}/rectify", json={"note": "x"}, headers=other)).status_code == 403
    assert (await client.post(f"{url}/rectify", json={"note": "x"}, headers=regulator)).status_code == 403
    rectified = await f.ok(await client.post(f"{url}/rectify", json={"note": "已送检"}, headers=company))
    assert rectified["status"] == "rectified"
    assert (await client.post(f"{url}/close", json={"note": "x"}, headers=company)).status_code == 403
    assert (await client.post(f"{url}/close", json={"note": "x"})).status_code == 403  # admin is no regulator
    body = {"note": "现场核查，已销号", "event_id": f.eid()}
    closed = await f.ok(await client.post(f"{url}/close", json=body, headers=regulator))
    assert closed["status"] == "closed" and closed["by"] == "regulator 王"
    again = await f.ok(await client.post(f"{url}/close", json=body, headers=regulator))
    assert again == closed  # the same event_id answers the same and changes nothing
    detail = await f.ok(await client.get(url))
    assert detail["status"] == "closed" and detail["status_by"] == "regulator 王"
    assert [(h["status"], h["action"]) for h in detail["history"]] == [
        ("open", "open"), ("rectified", "rectify"), ("closed", "close")]
    assert detail["history"][2]["note"] == "现场核查，已销号" and detail["history"][2]["at"]
    assert len(detail["evidence_event_ids"]) == 2
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{overdue}")))["open_findings"] == 0
    # a repeat after closing opens a new finding; the old one then cannot be reopened beside it
    assert (await f.fill(client, overdue)).status_code == 422
    newer = [x for x in await list_findings(client, rule="FILL_OVERDUE_INSPECTION") if x["status"] == "open"]
    assert len(newer) == 1 and newer[0]["id"] != fid
    assert (await client.post(f"{url}/reopen", json={"note": "x"}, headers=regulator)).status_code == 409
    # the company sees its own findings only
    mine = await f.ok(await client.get("/api/v1/findings", headers=company))
    assert {x["company_id"] for x in mine["items"]} == {"C1"}
    assert (await client.get("/api/v1/findings", params={"company_id": "C1"}, headers=other)).status_code == 403
    assert (await client.get(url, headers=other)).status_code == 403
    assert (await client.get("/api/v1/findings/nope")).status_code == 404


async def test_rebuilding_from_zero_gives_the_same_ledger(client: httpx.AsyncClient, services: Services) -> None:
    await _some_findings(client)
    (finding,) = await list_findings(client, rule="FILL_OVERFILL")
    company = await f.token(client, "company_admin", company_id="C1")
    await f.ok(await client.post(f"/api/v1/findings/{finding['id']}/rectify", json={"note": "已排残"},
                                 headers=company))

    async def snapshot() -> list[list[tuple[object, ...]]]:
        async with services.engine.connect() as conn:
            return [
                [tuple(r) for r in (await conn.execute(sa.select(t).order_by(*t.primary_key.columns))).all()]
                for t in (findings, finding_evidence, finding_history)
            ]

    before = await snapshot()
    async with services.engine.begin() as conn:
        await rebuild(conn, [next(p for p in services.uow.projections if isinstance(p, FindingsProjection))])
    assert await snapshot() == before
    assert len(before[0]) == 3


async def test_the_ledger_as_csv_and_xlsx_keeps_chinese(client: httpx.AsyncClient) -> None:
    await _some_findings(client)
    response = await client.get("/api/v1/findings", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号 (id)", "规则 (rule)", "等级 (severity)"]
    assert len(rows) == 4 and "超期未检" in rows[1][10]
    xlsx = await client.get("/api/v1/findings", params={"format": "xlsx", "rule": "SAFETY_CHECK_MISSING"})
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = xlsx_rows(xlsx.content)
    assert sheet[0][1] == "规则 (rule)" and sheet[1][1] == "SAFETY_CHECK_MISSING"
    assert sheet[1][10] == "居民用户送气未同时入户安检并进行安全宣传"
