"""``POST /api/v1/reports``: a report opens a ``PUBLIC_REPORT`` finding on the cylinder (valid, registered
code) or on ``report:<id>``; the reporter's contact stays with regulators; per-client rate limit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Clock
from tests.support import factories as f

PUBLIC = {"Authorization": ""}


async def report(c: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await c.post("/api/v1/reports", json={"kind": "black_cylinder", "description": "有人在卖无码气瓶", **body},
                        headers=PUBLIC)


async def finding_of(c: httpx.AsyncClient, subject: str) -> dict[str, Any]:
    [item] = (await f.ok(await c.get("/api/v1/findings", params={"rule": "PUBLIC_REPORT", "subject": subject})))[
        "items"]
    return item


async def test_a_report_on_a_registered_cylinder_opens_a_finding_on_it(client: httpx.AsyncClient) -> None:
    await f.company(client)
    code = (await f.cylinder(client))["code"]
    r = await report(client, kind="illegal_dealer", code=code, description="幸福街口无证售气",
                     contact="13511112222")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["subject"] == f"cylinder:{code}" and body["status"] == "received" and body["code"] == code
    finding = await finding_of(client, f"cylinder:{code}")
    assert finding["severity"] == "high" and finding["company_id"] == "C1" and finding["status"] == "open"
    assert finding["message_zh"] == "群众举报：非法经营瓶装液化气（黑气点）"
    assert finding["detail"]["description"] == "幸福街口无证售气"
    assert finding["detail"]["report_id"] == body["report_id"]
    assert "13511112222" not in str(finding)  # the company sees its finding, never the reporter
    full = await f.ok(await client.get(f"/api/v1/reports/{body['report_id']}"))
    assert full["contact"] == "13511112222" and full["kind"] == "illegal_dealer" and full["code"] == code
    company = await f.token(client, "company_admin", company_id="C1")
    assert (await client.get(f"/api/v1/reports/{body['report_id']}", headers=company)).status_code == 403
    assert (await client.get(f"/api/v1/reports/{body['report_id']}", headers=PUBLIC)).status_code == 401
    assert (await client.get(f"/api/v1/reports/{f.eid()}")).status_code == 404


async def test_without_a_registered_code_the_finding_is_on_the_report(client: httpx.AsyncClient) -> None:
    for code in (None, "06999999000049BLACK7", "not-a-code"):
        extra = {"code": code} if code else {}
        body = (await report(client, **extra)).json()
        assert body["subject"] == f"report:{body['report_id']}"
        finding = await finding_of(client, body["subject"])
        assert finding["company_id"] is None and finding["detail"]["code_registered"] is False
        assert finding["detail"]["code"] == code


async def test_bad_reports_are_422(client: httpx.AsyncClient) -> None:
    assert (await report(client, kind="rumour")).status_code == 422
    assert (await report(client, description="   ")).status_code == 422
    assert (await report(client, description="x" * 2001)).status_code == 422
    assert (await report(client, name="张三")).status_code == 422
    r = await client.post("/api/v1/reports", content=b"{not json", headers={**PUBLIC, "Content-Type":
                                                                          "application/json"})
    assert r.status_code == 422
    r = await client.post("/api/v1/reports", json=["a list"], headers=PUBLIC)
    assert r.status_code == 422


async def test_reports_are_rate_limited_per_client(client: httpx.AsyncClient, clock: Clock) -> None:
    for _ in range(5):
        assert (await report(client)).status_code == 201
    r = await report(client)
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 600
    clock.advance(minutes=9)
    assert (await report(client)).status_code == 429
    clock.advance(minutes=1)  # ten minutes after the first five: a new window
    for _ in range(5):
        assert (await report(client)).status_code == 201
    assert (await report(client)).status_code == 429
    listed = (await f.ok(await client.get("/api/v1/findings", params={"rule": "PUBLIC_REPORT", "limit": 50})))
    assert len(listed["items"]) == 10


async def test_a_browser_without_javascript_posts_the_form(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/reports", data={"kind": "other", "code": "", "description": "楼道堆放气瓶",
                                                   "contact": ""}, headers=PUBLIC)
    assert r.status_code == 201 and r.headers["content-type"].startswith("text/html")
    assert "举报已收到" in r.text
    r = await client.post("/api/v1/reports", data={"kind": "other", "description": ""}, headers=PUBLIC)
    assert r.status_code == 422 and "举报未能提交" in r.text


async def test_a_clients_trace_is_kept_only_for_the_window(client: httpx.AsyncClient, services: Any,
                                                           clock: Clock) -> None:
    import sqlalchemy as sa

    from cylinder_trace.store.tables import report_submissions

    assert (await report(client)).status_code == 201
    clock.advance(minutes=11)
    assert (await report(client)).status_code == 201
    async with services.engine.connect() as conn:
        kept = (await conn.execute(sa.select(report_submissions.c.submitted_at))).scalars().all()
    assert kept == [clock.now]
    assert len((await f.ok(await client.get("/api/v1/findings", params={"rule": "PUBLIC_REPORT"})))["items"]) == 2


async def test_reports_sent_at_once_from_one_client_are_counted_exactly(client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(report(client) for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201] * 5 + [429] * 3
