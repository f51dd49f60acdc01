"""The public page behind every QR code (``/8003/{grai}``): content, verdicts, the 404 page, content
negotiation, escaping, and no customer data — in the HTML or the JSON."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support import factories as f

from .town import SECRETS, delivered_to_secret_customer, owned_by_secret_customer, public_town

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NOW = "2026-11-28T10:00:00+08:00"


async def page(c: httpx.AsyncClient, code: str) -> httpx.Response:
    return await c.get(f"/8003/{code}", headers={**BROWSER, "Authorization": ""})


async def view(c: httpx.AsyncClient, code: str) -> dict[str, Any]:
    r = await c.get(f"/8003/{code}", headers={**JSON, "Authorization": ""})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_safe_cylinder_page_shows_the_verdict_and_the_published_company(client: httpx.AsyncClient) -> None:
    await public_town(client)
    code = (await f.cylinder(client))["code"]
    r = await page(client, code)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.headers["content-security-policy"] and r.headers["vary"] == "Accept"
    text = text_of(r.text)
    assert "可以安全使用" in text and "禁止使用" not in text
    for shown in ("YSP35.5", "大岗子燃气有限公司", "企业自有产权", "空瓶在库", "2027-05-01", "王师傅", "13800000001",
                  "李送气", "13600000002", "吉G12345", code):
        assert shown in text, shown
    assert r.text.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in r.text
    assert 'name="viewport"' in r.text and 'action="/api/v1/reports"' in r.text


async def test_json_when_asked(client: httpx.AsyncClient) -> None:
    await public_town(client)
    code = (await f.cylinder(client))["code"]
    body = await view(client, code)
    assert body["code"] == code and body["model"] == "YSP35.5" and body["status"] == "empty_in_stock"
    assert body["owner"] == {"kind": "company", "label_zh": "企业自有产权", "company_name": "大岗子燃气有限公司"}
    assert body["next_inspection_due"] == "2027-05-01" and body["life_expires_on"] == "2031-05-01"
    assert body["verdict"] == {"safe": True, "text_zh": "可以安全使用", "text_en": "safe to use", "reasons": []}
    assert [(w["name"], w["phone"], w["certified"]) for w in body["delivery_workers"]] == [
        ("王师傅", "13800000001", True), ("李送气", "13600000002", True)]
    assert body["vehicles"] == [{"plate": "吉G12345", "permit_valid_until": "2030-12-31", "permitted": True}]
    assert body["company"]["name"] == "大岗子燃气有限公司" and body["company"]["licensed"] is True


async def verdict(c: httpx.AsyncClient, code: str) -> tuple[bool, list[str]]:
    v = (await view(c, code))["verdict"]
    return v["safe"], [r["rule"] for r in v["reasons"]]


async def test_do_not_use_says_why(client: httpx.AsyncClient) -> None:
    await public_town(client)
    await f.agency(client, "A2")
    overdue = (await f.cylinder(client, manufactured_on="2021-06-01"))["code"]
    expired = (await f.cylinder(client, manufactured_on="2018-01-05", last_inspected_on="2023-06-01"))["code"]
    dual = (await f.cylinder(client, model="YSP118-II"))["code"]
    seized = (await f.cylinder(client))["code"]
    scrapped = (await f.cylinder(client))["code"]
    failed = (await f.cylinder(client))["code"]
    await f.ok(await client.post(f"/api/v1/cylinders/{seized}/seize",
                                 json={"event_id": f.eid(), "reason": "无证经营", "occurred_at": NOW}), 201)
    await f.ok(await client.post(f"/api/v1/cylinders/{scrapped}/scrap",
                                 json={"event_id": f.eid(), "reason": "报废", "occurred_at": NOW}), 201)
    await f.ok(await client.post("/api/v1/inspections", json={
        "event_id": f.eid(), "code": failed, "agency_id": "A1", "occurred_at": NOW, "result": "fail"}), 201)
    assert await verdict(client, overdue) == (False, ["FILL_OVERDUE_INSPECTION"])
    assert await verdict(client, expired) == (False, ["FILL_LIFE_EXPIRED"])
    assert await verdict(client, dual) == (False, ["FILL_DUAL_PHASE_VALVE"])
    assert await verdict(client, seized) == (False, ["FILL_SEIZED"])
    assert await verdict(client, scrapped) == (False, ["FILL_SCRAPPED"])
    assert await verdict(client, failed) == (False, ["FILL_UNQUALIFIED"])
    text = text_of((await page(client, overdue)).text)
    assert "禁止使用" in text and "超期未检：应于 2025-06-01 前检验" in text and "可以安全使用" not in text
    text = text_of((await page(client, expired)).text)
    assert "超出设计使用年限：已于 2026-01-05 到期" in text
    assert "气液双相" in text_of((await page(client, dual)).text)


async def test_an_unknown_code_is_a_404_page_with_the_report_form(client: httpx.AsyncClient) -> None:
    unknown = "06999999000049BLACK7"
    r = await page(client, unknown)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    text = text_of(r.text)
    assert "未查到该气瓶" in text and "黑气瓶" in text and "提交举报" in text
    assert f'value="{unknown}"' in r.text and '<option value="black_cylinder" selected>' in r.text
    bad = await page(client, "06999999000048BLACK7")
    assert bad.status_code == 404 and "不是有效的气瓶码" in text_of(bad.text) and "check digit" in bad.text
    r = await client.get(f"/8003/{unknown}", headers=JSON)
    assert r.status_code == 404 and r.json()["code"] == unknown and r.json()["report"] == "/api/v1/reports"


async def test_every_value_is_escaped(client: httpx.AsyncClient) -> None:
    await f.company(client, name="<script>alert(1)</script>燃气\"公司'")
    await f.staff(client, "D9", "delivery_worker", name="<img src=x onerror=alert(2)>")
    code = (await f.cylinder(client))["code"]
    r = await page(client, code)
    html = r.text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;燃气&quot;公司&#x27;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert html.count("<script") == 1  # only the page's own script, which carries the nonce
    nonce = re.search(r'<script nonce="([^"]+)">', html)
    assert nonce is not None and f"script-src 'nonce-{nonce.group(1)}'" in r.headers["content-security-policy"]


async def test_no_customer_data_on_the_public_side(client: httpx.AsyncClient) -> None:
    await public_town(client)
    delivered = await delivered_to_secret_customer(client)
    owned = await owned_by_secret_customer(client)
    # the data is really there behind the token: the test would notice if the customer were missing
    state = await f.ok(await client.get(f"/api/v1/cylinders/{delivered}"))
    assert state["holder"] == {"kind": "customer", "id": SECRETS.customer_id}
    assert (await f.ok(await client.get(f"/api/v1/cylinders/{owned}")))["owner"] == {
        "customer_id": SECRETS.customer_id}
    for code in (delivered, owned):
        html = (await page(client, code)).text
        raw_json = (await client.get(f"/8003/{code}", headers={**JSON, "Authorization": ""})).text
        for secret in SECRETS.all():
            assert secret not in html, (code, secret)
            assert secret not in raw_json, (code, secret)
        assert "在用户处" in text_of(html)
    assert (await view(client, owned))["owner"] == {"kind": "customer", "label_zh": "用户自有产权",
                                                    "company_name": "大岗子燃气有限公司"}

