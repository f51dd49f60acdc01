"""The public page in a real headless Chromium against the real server: the verdict a person sees, the
published company, the report form (JavaScript on) with its confirmation, the 404 page, a phone-sized
screen, and no customer data in what the browser renders."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import collect_errors, served
from tests.integration.public.town import SECRETS, delivered_to_secret_customer, public_town
from tests.support import factories as f

pytestmark = pytest.mark.browser

TOKEN = "e2e-admin-token"
PHONE = {"width": 375, "height": 740}


@dataclass(frozen=True)
class Town:
    base: str
    safe: str
    overdue: str
    delivered: str


async def _populate(base: str) -> Town:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        await public_town(c)
        safe = str((await f.cylinder(c))["code"])
        overdue = str((await f.cylinder(c, manufactured_on="2021-06-01"))["code"])
        delivered = await delivered_to_secret_customer(c)
    return Town(base, safe, overdue, delivered)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    with served(tmp_path_factory, "e2e", TOKEN) as base:
        yield asyncio.run(_populate(base))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
    p = context.new_page()
    errors = collect_errors(p, expected_status=("/8003/",))  # the 404 page's own status is expected
    yield p
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def _public_reports(town: Town, subject: str) -> list[dict[str, object]]:
    r = httpx.get(f"{town.base}/api/v1/findings", params={"rule": "PUBLIC_REPORT", "subject": subject},
                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    items: list[dict[str, object]] = r.json()["items"]
    return items


def test_a_safe_cylinder_shows_its_verdict_and_takes_a_report(town: Town, page: Page) -> None:
    response = page.goto(f"{town.base}/8003/{town.safe}")
    assert response is not None and response.status == 200
    expect(page.locator("#verdict strong")).to_have_text("可以安全使用")
    expect(page.locator("#cylinder")).to_contain_text("YSP35.5")
    expect(page.locator("#company")).to_contain_text("大岗子燃气有限公司")
    expect(page.locator("#workers")).to_contain_text("13600000002")
    expect(page.locator("#vehicles")).to_contain_text("吉G12345")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    page.select_option("#kind", "illegal_dealer")
    page.fill("#description", "浏览器提交：小区门口有人卖无码气瓶")
    page.fill("#contact", "13588889999")
    page.click("button[type=submit]")
    expect(page.locator("#report-result")).to_contain_text("举报已收到", timeout=10_000)
    assert "感谢您的监督" in page.inner_text("#report-result")
    [finding] = _public_reports(town, f"cylinder:{town.safe}")
    detail = finding["detail"]
    assert isinstance(detail, dict) and detail["description"] == "浏览器提交：小区门口有人卖无码气瓶"
    assert detail["kind"] == "illegal_dealer"


def test_an_overdue_cylinder_says_do_not_use_and_why(town: Town, page: Page) -> None:
    page.goto(f"{town.base}/8003/{town.overdue}")
    expect(page.locator("#verdict strong")).to_have_text("禁止使用")
    expect(page.locator("#verdict")).to_contain_text("超期未检：应于 2025-06-01 前检验")
    color = page.eval_on_selector("#verdict", "e => getComputedStyle(e).color")
    assert color == "rgb(179, 20, 27)", "the do-not-use verdict is shown in red"


def test_an_unknown_code_gets_a_404_page_that_still_takes_a_report(town: Town, page: Page) -> None:
    unknown = "06999999000049BLACK7"
    response = page.goto(f"{town.base}/8003/{unknown}")
    assert response is not None and response.status == 404
    expect(page.locator("#verdict strong")).to_have_text("未查到该气瓶")
    expect(page.locator("#code")).to_have_value(unknown)
    assert page.eval_on_selector("#kind", "e => e.value") == "black_cylinder"
    page.fill("#description", "路边三轮车上的气瓶码查不到")
    page.click("button[type=submit]")
    expect(page.locator("#report-result")).to_contain_text("举报已收到", timeout=10_000)
    report_id = page.inner_text("#report-result").split("编号 ")[1].split("。")[0]
    [finding] = _public_reports(town, f"report:{report_id}")
    assert isinstance(finding["detail"], dict) and finding["detail"]["code"] == unknown


def test_the_rendered_page_shows_no_customer_data(town: Town, page: Page) -> None:
    page.goto(f"{town.base}/8003/{town.delivered}")
    expect(page.locator("#cylinder")).to_contain_text("在用户处")
    rendered = page.inner_text("body") + page.content()
    for secret in SECRETS.all():
        assert secret not in rendered, secret
