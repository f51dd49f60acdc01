"""The desk's pages over HTTP: signing in and out, the cookie, CSRF on every form, the finding actions,
finding a cylinder by code, link or photo, stepping back in time, the language switch, and no 500 for
bad input."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa
from fastapi.routing import APIRoute

from cylinder_trace.app.principal_cache import principals_changed
from cylinder_trace.app.services import Services
from cylinder_trace.store import tables
from cylinder_trace.web.desk import PAGE_ROUTES, PAGE_SIZE, router
from tests.conftest import Clock
from tests.integration.labels.photos import blank_photo, photo
from tests.integration.rules.helpers import SECRET
from tests.support import factories as f
from tests.support.desk import browser, desk, form_event_id, form_token, sign_in, token_of

from .town import two_companies

SAMPLES = {"{code}": "069999990000441", "{finding_id}": "nope", "{action}": "close", "{lang}": "en"}


def _path(template: str) -> str:
    for name, value in SAMPLES.items():
        template = template.replace(name, value)
    return template


def test_every_page_route_is_listed() -> None:
    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    served = {(method, route.path) for route in routes for method in route.methods}
    assert served == {(spec.method, spec.path) for spec in PAGE_ROUTES}


async def test_the_landing_page_leads_to_sign_in_and_the_docs(services: Services) -> None:
    async with browser(services) as b:
        page = await b.get("/")
    assert page.status_code == 200 and 'href="/signin"' in page.text and 'href="/docs"' in page.text
    assert "一瓶一码" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


async def test_pages_without_a_session_send_the_browser_to_sign_in(services: Services) -> None:
    async with browser(services) as b:
        for spec in PAGE_ROUTES:
            if spec.who.startswith("anyone"):
                continue
            path = _path(spec.path)
            answer = await (b.get(path) if spec.method == "GET" else b.post(path, data={"csrf": "x"}))
            assert answer.status_code == 303, (spec, answer.status_code)
            assert answer.headers["location"].startswith("/signin?next="), spec
        # with a bearer token (the API's way) a page still wants its own session
        answer = await b.get("/desk", headers={"Authorization": f"Bearer {services.settings.admin_token}"})
        assert answer.status_code == 303


async def test_signing_in_keeps_the_token_in_an_http_only_cookie(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    token = await token_of(client, "regulator")
    async with browser(services) as b:
        answer = await sign_in(b, token, "/desk/findings?status=open")
        assert answer.status_code == 303 and answer.headers["location"] == "/desk/findings?status=open"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("ct_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        # over plain http (127.0.0.1 in development) a Secure cookie would be dropped by the browser
        assert "Secure" not in cookie.split(", ct_signin")[0]
        assert token not in cookie
        assert (await b.get("/desk")).status_code == 200
    async with browser(services, "https://desk.example") as b:
        answer = await sign_in(b, token)
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-ct_session=") and "Secure" in cookie.split(", ct_signin")[0]
        assert (await b.get("/desk")).status_code == 200


async def test_a_wrong_token_a_stale_form_or_a_foreign_next_gets_nowhere(
    client: httpx.AsyncClient, services: Services
) -> None:
    await f.town(client)
    token = await token_of(client, "regulator")
    async with browser(services) as b:
        wrong = await sign_in(b, "ct_not-a-token")
        assert wrong.status_code == 401 and "令牌无效" in wrong.text
        assert "ct_session=" not in wrong.headers.get("set-cookie", "")
        form = await b.get("/signin")
        stale = await b.post("/signin", data={"token": token, "csrf": "forged", "next": "/desk"})
        assert stale.status_code == 403 and "ct_session" not in stale.headers.get("set-cookie", "")
        assert form_token(form.text)
        for foreign in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            answer = await sign_in(b, token, foreign)
            assert answer.headers["location"] == "/desk", foreign


async def test_a_revoked_token_ends_the_session_and_signing_out_needs_the_form_token(
    client: httpx.AsyncClient, services: Services
) -> None:
    await f.town(client)
    token = await token_of(client, "regulator")
    async with desk(services, token) as d:
        assert (await d.client.post("/signout", data={"csrf": "forged"})).status_code == 403
        assert (await d.get("/desk")).status_code == 200
        out = await d.post("/signout")
        assert out.status_code == 303 and 'ct_session=""' in out.headers["set-cookie"]
    async with desk(services, token) as d:
        async with services.engine.begin() as conn:  # revoked as the service revokes: the caches are told
            await conn.execute(sa.delete(tables.principals))
            await principals_changed(conn)
        services.principals.clear()  # what the notification does when it arrives (asynchronously)
        answer = await d.get("/desk")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


async def test_closing_a_finding_takes_the_regulator_and_the_form_token(
    client: httpx.AsyncClient, services: Services
) -> None:
    town = await two_companies(client)
    finding = town.c1.finding
    async with desk(services, town.c1.admin) as company:
        page = await company.get(f"/desk/findings/{finding}")
        assert 'id="form-rectify"' in page.text and 'id="form-close"' not in page.text
        forged = await company.client.post(f"/desk/findings/{finding}/rectify", data={
            "csrf": "forged", "note": "已整改", "event_id": form_event_id(page.text)})
        assert forged.status_code == 403
        body = {"note": "已更换充装流程，培训充装工", "event_id": form_event_id(page.text)}
        done = await company.post(f"/desk/findings/{finding}/rectify", body)
        assert done.status_code == 303 and done.headers["location"].endswith("?done=rectify")
        again = await company.post(f"/desk/findings/{finding}/rectify", body)  # the same form sent twice
        assert again.status_code == 303
        assert (await company.post(f"/desk/findings/{finding}/close", {"note": "x", "event_id": f.eid()})
                ).status_code == 403
    async with desk(services, town.regulator) as regulator:
        page = await regulator.get(f"/desk/findings/{finding}")
        assert 'id="form-close"' in page.text and 'id="form-reopen"' in page.text
        empty = await regulator.post(f"/desk/findings/{finding}/close", {"note": "", "event_id": f.eid()})
        assert empty.status_code == 422 and "note" in empty.text
        closed = await regulator.post(f"/desk/findings/{finding}/close", {"note": "现场核查属实，予以销号",
                                                                        "event_id": form_event_id(page.text)})
        assert closed.status_code == 303
        shown = (await regulator.client.get(closed.headers["location"])).text
        assert "已销号" in shown and "现场核查属实，予以销号" in shown
        late = await regulator.post(f"/desk/findings/{finding}/close", {"note": "再次销号", "event_id": f.eid()})
        assert late.status_code == 409 and "closed" in late.text
    detail = await f.ok(await client.get(f"/api/v1/findings/{finding}"))
    assert [h["action"] for h in detail["history"]] == ["open", "rectify", "close"]
    assert detail["history"][-1]["by"] == "regulator 王"


async def test_a_cylinder_is_found_by_code_link_or_photo(client: httpx.AsyncClient, services: Services) -> None:
    town = await two_companies(client)
    code = town.c1.delivered
    link = f"{services.settings.public_base_url}/8003/{code}"
    async with desk(services, town.regulator) as d:
        for typed in (code, link, f"  {link}  "):
            answer = await d.get("/desk/cylinders", q=typed)
            assert answer.status_code == 303 and answer.headers["location"] == f"/desk/cylinders/{code}", typed
        bad = await d.get("/desk/cylinders", q="069999990000459")
        assert bad.status_code == 422 and "check digit" in bad.text
        jpeg = photo(code, link, "大岗子燃气有限公司")
        scanned = await d.post("/desk/cylinders/scan", files={"image": ("label.jpg", jpeg, "image/jpeg")})
        assert scanned.status_code == 303 and scanned.headers["location"] == f"/desk/cylinders/{code}"
        nothing = await d.post("/desk/cylinders/scan", files={"image": ("blank.jpg", blank_photo(), "image/jpeg")})
        assert nothing.status_code == 422 and 'id="search-error"' in nothing.text
        forged = await d.client.post("/desk/cylinders/scan", data={"csrf": "forged"},
                                     files={"image": ("label.jpg", jpeg, "image/jpeg")})
        assert forged.status_code == 403
        huge = await d.client.post("/desk/cylinders/scan", content=b"x" * 11_000_000,
                                   headers={"content-type": "multipart/form-data; boundary=z"})
        assert huge.status_code == 413


async def test_the_timeline_and_the_state_as_of_a_moment(
    client: httpx.AsyncClient, services: Services, clock: Clock
) -> None:
    await f.town(client)
    code = str((await f.cylinder(client))["code"])
    for step in (lambda: f.fill(client, code, at="2026-11-28T08:00:00+08:00"),
                 lambda: f.deliver(client, code, at="2026-11-28T08:30:00+08:00"),
                 lambda: f.fill(client, code, at="2026-11-28T09:00:00+08:00")):
        clock.advance(minutes=1)  # each recorded a minute after the one before
        assert (await step()).status_code in (201, 422)
    async with desk(services, await token_of(client, "regulator")) as d:
        page = (await d.get(f"/desk/cylinders/{code}")).text
        assert 'id="chain-badge"' in page and "哈希链完整 · 4 条记录" in page
        for shown in ("充装", "配送入户", "拒绝充装", "LIFECYCLE_INVALID_TRANSITION", "S1", "F1", "D1", "吉G12345",
                      "administrator"):
            assert shown in page, shown
        assert "在用户处" in page.split('id="state-status"')[1][:80]
        steps = re.findall(r'href="(/desk/cylinders/[^"]+\?as_of=[^"]+)"', page)
        assert len(steps) == 4
        filled = (await d.client.get(steps[1].replace("&amp;", "&"))).text  # as of the fill
        assert 'id="as-of-notice"' in filled and "实瓶在库" in filled.split('id="state-status"')[1][:80]
        assert filled.count('class="step ') == 2
        before = (await d.get(f"/desk/cylinders/{code}", as_of="2020-01-01T00:00")).text
        assert 'id="state-none"' in before and before.count('class="step ') == 0
        assert (await d.get(f"/desk/cylinders/{code}", as_of="yesterday")).status_code == 422
        assert (await d.get("/desk/cylinders/not-a-code")).status_code == 422


async def test_english_on_request(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    async with desk(services, await token_of(client, "regulator")) as d:
        assert "隐患台账" in (await d.get("/desk/findings")).text
        switched = await d.get("/lang/en", next="/desk/findings?status=open")
        assert switched.status_code == 303 and switched.headers["location"] == "/desk/findings?status=open"
        page = (await d.get("/desk/findings", status="open")).text
        assert "Findings ledger" in page and "隐患台账" not in page and 'lang="en"' in page
        assert (await d.get("/lang/en", next="https://evil.example")).headers["location"] == "/desk"
        assert (await d.get("/lang/fr")).status_code == 422


async def test_bad_input_is_a_page_that_says_so(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    async with desk(services, await token_of(client, "regulator")) as d:
        for path, params in (("/desk/findings", {"status": "gone"}), ("/desk/findings", {"cursor": "a"}),
                             ("/desk/findings", {"format": "pdf"}), ("/desk/ledgers/swaps", {"from": "May"}),
                             ("/desk/ledgers/subsidies", {"from": "2026-12-01", "to": "2026-11-01"}),
                             ("/desk/cylinders", {"status": "lost"}), ("/desk/valves", {"cursor": "a"}),
                             ("/desk/valves/dead-letters", {"cursor": "abc"})):
            answer = await d.get(path, **params)
            assert answer.status_code == 422 and 'id="error"' in answer.text, (path, params, answer.status_code)
        assert (await d.get("/desk/findings/unknown")).status_code == 404


async def test_long_lists_come_in_pages(client: httpx.AsyncClient, services: Services) -> None:
    await f.town(client)
    for n in range(PAGE_SIZE + 1):
        await f.ok(await client.post("/api/v1/valves", json={"valve_id": f"V{n:04d}", "company_id": "C1",
                                                            "secret": SECRET}))
    async with desk(services, await token_of(client, "regulator")) as d:
        first = (await d.get("/desk/valves", company_id="C1")).text
        assert first.count("data-valve=") == PAGE_SIZE and "V0000" in first and f"V{PAGE_SIZE:04d}" not in first
        following = re.search(r'href="([^"]+)" id="next-page"', first)
        assert following is not None and "company_id=C1" in following.group(1)
        second = (await d.client.get(following.group(1).replace("&amp;", "&"))).text
        assert second.count("data-valve=") == 1 and f"V{PAGE_SIZE:04d}" in second and 'id="next-page"' not in second
