"""The regulator's desk in a real headless Chromium against the real server: signing in, finding a
cylinder by code and by photo, reading its timeline and stepping back in time, closing a finding,
downloading ledgers and opening them, a company that cannot find another company's cylinder, the
cylinder page on a phone, and the screenshots the README shows (``make screenshots``)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import collect_errors, served
from tests.e2e.desk_town import DeskTown, desk_town
from tests.integration.labels.photos import photo

pytestmark = pytest.mark.browser

TOKEN = "e2e-desk-admin-token"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: pages whose own status is an expected 4xx (a cylinder not found)
EXPECTED_STATUS = ("/desk/cylinders",)

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskTown]:
    with served(tmp_path_factory, "e2e-desk", TOKEN) as base:
        yield asyncio.run(desk_town(base, TOKEN))


def _context(browser: Browser, viewport: dict[str, int], **extra: object) -> BrowserContext:
    return browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True, **extra)  # type: ignore[arg-type]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = _context(browser, DESKTOP)
    p = context.new_page()
    errors = collect_errors(p, EXPECTED_STATUS)
    yield p
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = _context(browser, PHONE, is_mobile=True, has_touch=True)
    p = context.new_page()
    errors = collect_errors(p, EXPECTED_STATUS)
    yield p
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def sign_in(page: Page, town: DeskTown, token: str) -> None:
    page.goto(f"{town.base}/")
    page.click("#signin-link")
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(f"{town.base}/desk")
    expect(page.locator("#who")).to_be_visible()


def find(page: Page, text: str) -> None:
    page.click("nav.main >> text=气瓶")
    page.fill("#q", text)
    page.press("#q", "Enter")
    page.wait_for_load_state()


def test_a_regulator_finds_a_cylinder_reads_its_timeline_and_steps_back(town: DeskTown, page: Page) -> None:
    sign_in(page, town, town.regulator)
    expect(page.locator("#tile-customer-overdue strong")).to_have_text("1")
    expect(page.locator("svg.chart")).to_have_count(4)
    find(page, town.story)
    page.wait_for_url(f"{town.base}/desk/cylinders/{town.story}")
    expect(page.locator("#chain-badge")).to_contain_text("哈希链完整 · 9 条记录")
    steps = page.locator("#timeline li.step")
    expect(steps).to_have_count(9)
    titles = steps.locator(".title").all_inner_texts()
    assert titles == ["建档登记", "加装智能角阀", "充装", "配送入户", "回收空瓶", "定期检验", "拒绝充装", "充装",
                      "配送入户"]
    refused = page.locator("li.step.refused")
    expect(refused).to_contain_text("FILL_OVERFILL")
    expect(refused).to_contain_text("16.2")
    delivered = steps.nth(3)
    for shown in ("D1", "U2", "吉G12345", "hose_aged"):
        expect(delivered).to_contain_text(shown)
    expect(steps.nth(2)).to_contain_text("S1")
    expect(steps.nth(2)).to_contain_text("F1")
    expect(page.locator("#state-status")).to_have_text("在用户处")

    steps.nth(2).locator("a.as-of-link").click()  # the state as of the first fill
    expect(page.locator("#as-of-notice")).to_be_visible()
    expect(page.locator("#state-status")).to_have_text("实瓶在库")
    expect(page.locator("#state-fill-count")).to_have_text("1")
    expect(page.locator("#timeline li.step")).to_have_count(3)

    page.fill("#as_of_input", "2020-01-01T08:00:00")
    page.click("#as-of-form button[type=submit]")
    expect(page.locator("#state-none")).to_be_visible()
    expect(page.locator("#timeline li.step")).to_have_count(0)


def test_a_regulator_finds_a_cylinder_by_its_photo(town: DeskTown, page: Page) -> None:
    sign_in(page, town, town.regulator)
    page.goto(f"{town.base}/desk/cylinders")
    jpeg = photo(town.story, f"{town.base}/8003/{town.story}", town.company_name)
    with page.expect_navigation(url=f"{town.base}/desk/cylinders/{town.story}"):
        # choosing the photo sends it (the page's script); without a script the button does the same
        page.set_input_files("#image", {"name": "label.jpg", "mimeType": "image/jpeg", "buffer": jpeg})
    expect(page.locator("#cylinder-code")).to_have_text(town.story)


def test_a_regulator_closes_a_rectified_finding(town: DeskTown, page: Page) -> None:
    sign_in(page, town, town.regulator)
    page.click("nav.main >> text=隐患台账")
    page.select_option("#status", "rectified")
    page.click("#findings-filter button[type=submit]")
    rows = page.locator("#findings tr.finding")
    expect(rows).to_have_count(1)
    rows.first.locator("a").first.click()
    expect(page.locator("#finding-status")).to_have_text("已整改待销号")
    expect(page.locator("#history")).to_contain_text("充装秤已重新校准")
    page.fill("#note-close", "现场核查：充装秤检定合格，予以销号")
    page.click("#form-close button[type=submit]")
    expect(page.locator("#finding-status")).to_have_text("已销号")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#history")).to_contain_text("现场核查：充装秤检定合格，予以销号")
    evidence = page.locator("#evidence a.evidence-link").first
    evidence.click()
    page.wait_for_url(f"{town.base}/desk/cylinders/{town.story}#event-*")
    api = httpx.get(f"{town.base}/api/v1/findings/{town.rectified_finding}",
                    headers={"Authorization": f"Bearer {town.regulator}"})
    assert api.json()["status"] == "closed"


def test_ledgers_download_and_open(town: DeskTown, page: Page) -> None:
    sign_in(page, town, town.regulator)
    page.goto(f"{town.base}/desk/findings")
    with page.expect_download() as csv_download:
        page.click("#export-csv")
    text = Path(csv_download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["编号 (id)", "规则 (rule)", "等级 (severity)"]
    rules = {row[1] for row in rows[1:]}
    assert {"FILL_OVERFILL", "FILL_OVERDUE_INSPECTION", "OVERDUE_AT_CUSTOMER"} <= rules

    page.click("nav.main >> text=补贴台账")
    expect(page.locator("#total-cny")).to_have_text("30")
    with page.expect_download() as xlsx_download:
        page.click("#export-xlsx")
    sheet = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes())).active
    assert sheet is not None
    table = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    assert table[1][:5] == ("C1", table[1][1], "smart_valve", 1, 30) and table[-1][0] == "合计 total"


def test_a_company_does_not_find_another_companys_cylinder(town: DeskTown, page: Page) -> None:
    sign_in(page, town, town.c1_admin)
    find(page, town.foreign)
    expect(page.locator("#not-found h1")).to_have_text("未找到该气瓶")
    page.goto(f"{town.base}/desk/cylinders")
    expect(page.locator("#cylinder-list")).not_to_contain_text(town.foreign)
    find(page, town.story)
    expect(page.locator("#cylinder-code")).to_have_text(town.story)
    page.goto(f"{town.base}/desk/cylinders/{town.foreign}")
    expect(page.locator("#not-found")).to_be_visible()


def test_the_cylinder_page_on_a_phone(town: DeskTown, phone: Page) -> None:
    sign_in(phone, town, town.regulator)
    phone.goto(f"{town.base}/desk/cylinders/{town.story}")
    expect(phone.locator("#timeline li.step")).to_have_count(9)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    first = phone.locator("#timeline li.step").first
    first.locator("summary").click()
    expect(first.locator("pre")).to_be_visible()
    phone.click("#lang-switch")
    expect(phone.locator("h1")).to_contain_text("Cylinder")
    expect(phone.locator("#chain-badge")).to_contain_text("hash chain intact")
    phone.click("#lang-switch")
    expect(phone.locator("#chain-badge")).to_contain_text("哈希链完整")


def test_screenshots_of_the_timeline_and_the_dashboard(
    town: DeskTown, browser: Browser, tmp_path: Path
) -> None:
    """``CT_SCREENSHOTS_DIR=docs/screenshots`` keeps them (``make screenshots``); otherwise they are only
    checked."""
    target = Path(os.environ.get("CT_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    shots = {}
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = _context(browser, viewport, device_scale_factor=1)
        p = context.new_page()
        sign_in(p, town, town.regulator)
        if name == "desktop":
            expect(p.locator("svg.chart")).to_have_count(4)
            shots["dashboard.png"] = p.screenshot(full_page=True)
        p.goto(f"{town.base}/desk/cylinders/{town.story}")
        expect(p.locator("#timeline li.step")).to_have_count(9)
        shots["cylinder-timeline.png" if name == "desktop" else "cylinder-phone.png"] = p.screenshot(full_page=True)
        context.close()
    for filename, png in shots.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, filename
        (target / filename).write_bytes(png)
