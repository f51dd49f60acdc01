"""A company sees only its own data on every page, and ID numbers only admin and regulator see — the
same answers as the API gives, through the same readers."""

from __future__ import annotations

import csv
import io

import httpx

from cylinder_trace.app.services import Services
from tests.integration.rules.helpers import xlsx_rows
from tests.support import factories as f
from tests.support.desk import desk

from .town import HANDED_IN_BY, scrap_with_hand_in, two_companies

MASKED = "2201**********9876"


async def test_a_company_sees_only_its_own_rows_on_every_page(client: httpx.AsyncClient, services: Services) -> None:
    town = await two_companies(client)
    mine, theirs = town.c1, town.c2
    async with desk(services, mine.admin) as d:
        other = await d.get(f"/desk/cylinders/{theirs.delivered}")
        assert other.status_code == 404 and "未找到该气瓶" in other.text
        assert theirs.company not in other.text.replace(theirs.delivered, "")
        assert (await d.get(f"/desk/cylinders/{mine.delivered}")).status_code == 200
        # a search by the other company's code (typed or as a Digital Link) ends on the same "not found"
        found = await d.client.get("/desk/cylinders", params={"q": f"http://x/8003/{theirs.delivered}"},
                                   follow_redirects=True)
        assert found.status_code == 404 and "未找到该气瓶" in found.text

        listing = (await d.get("/desk/cylinders")).text
        assert mine.delivered in listing and theirs.delivered not in listing and theirs.swapped_out not in listing
        assert (await d.get("/desk/cylinders", owner_company_id=theirs.company)).status_code == 403

        ledger = (await d.get("/desk/findings")).text
        assert mine.finding in ledger and theirs.finding not in ledger
        assert (await d.get("/desk/findings", company_id=theirs.company)).status_code == 403
        assert (await d.get(f"/desk/findings/{theirs.finding}")).status_code == 403
        exported = (await d.get("/desk/findings", format="csv")).content.decode("utf-8-sig")
        ids = [row[0] for row in csv.reader(io.StringIO(exported))][1:]
        assert mine.finding in ids and theirs.finding not in ids

        for kind in ("subsidies", "swaps"):
            page = (await d.get(f"/desk/ledgers/{kind}")).text
            assert mine.company in page and theirs.company not in page, kind
            assert (await d.get(f"/desk/ledgers/{kind}", company_id=theirs.company)).status_code == 403
            rows = xlsx_rows((await d.get(f"/desk/ledgers/{kind}", format="xlsx")).content)
            company_column = 2 if kind == "swaps" else 0
            companies = {r[company_column] for r in rows[1:-1]}
            assert companies == {mine.company}, (kind, rows)

        valves = (await d.get("/desk/valves")).text
        assert mine.valve in valves and theirs.valve not in valves
        assert (await d.get("/desk/valves", company_id=theirs.company)).status_code == 403
        assert (await d.get("/desk/valves/dead-letters")).status_code == 403

        board = (await d.get("/desk")).text
        assert theirs.company not in board

        refused = await d.post(f"/desk/findings/{theirs.finding}/rectify", {"note": "不是我的", "event_id": f.eid()})
        assert refused.status_code == 403
    detail = await f.ok(await client.get(f"/api/v1/findings/{theirs.finding}"))
    assert detail["status"] == "open" and len(detail["history"]) == 1


async def test_a_regulator_sees_every_company(client: httpx.AsyncClient, services: Services) -> None:
    town = await two_companies(client)
    async with desk(services, town.regulator) as d:
        for side in (town.c1, town.c2):
            assert (await d.get(f"/desk/cylinders/{side.delivered}")).status_code == 200
            assert side.finding in (await d.get("/desk/findings")).text
            assert side.valve in (await d.get("/desk/valves")).text
        only_c2 = (await d.get("/desk/findings", company_id="C2")).text
        assert town.c2.finding in only_c2 and town.c1.finding not in only_c2
        assert (await d.get("/desk/valves/dead-letters")).status_code == 200


async def test_id_numbers_are_masked_for_staff_and_inspectors(client: httpx.AsyncClient, services: Services) -> None:
    town = await two_companies(client)
    await scrap_with_hand_in(client, town.c1.delivered, "C1")
    full = HANDED_IN_BY["id_number"]
    for token in (town.c1.admin, town.inspector):
        async with desk(services, token) as d:
            page = (await d.get(f"/desk/cylinders/{town.c1.delivered}")).text
            assert MASKED in page and full not in page
    async with desk(services, town.regulator) as d:
        page = (await d.get(f"/desk/cylinders/{town.c1.delivered}")).text
        assert full in page
