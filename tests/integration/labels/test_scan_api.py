"""``POST /api/v1/scan`` with photos of real labels (tests/support/label_photos.py) through the real endpoint: the code
and the cylinder, the fill check at a station, clear 422s, the size limit, and sightings as evidence."""

from __future__ import annotations

from typing import Any

import httpx

from cylinder_trace.app.scans import MAX_IMAGE_BYTES
from cylinder_trace.domain.codes import make_grai
from tests.integration.labels.photos import blank_photo, photo
from tests.support import factories as f
from tests.unit.labels.support import qr_png

from .test_labels_api import COMPANY

BASE = "http://127.0.0.1:8000"
SCRAP = {"reason": "报废", "occurred_at": "2026-11-20T10:00:00+08:00"}


async def scan(c: httpx.AsyncClient, image: bytes, station_id: str | None = None,
               headers: dict[str, str] | None = None) -> httpx.Response:
    data = {"station_id": station_id} if station_id else None
    return await c.post("/api/v1/scan", files={"image": ("photo.jpg", image, "image/jpeg")}, data=data,
                        headers=headers)


async def findings(c: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    return (await f.ok(await c.get("/api/v1/findings", params=params)))["items"]


async def test_a_photographed_label_gives_the_cylinder(client: httpx.AsyncClient) -> None:
    await f.company(client)
    cyl = await f.cylinder(client)
    for category in ("rotation", "perspective"):
        r = await scan(client, photo(cyl["code"], cyl["digital_link"], COMPANY, category))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["code"] == cyl["code"] and "fill_check" not in body
        assert body["cylinder"]["status"] == "empty_in_stock" and body["cylinder"]["model"] == "YSP35.5"
        assert body["cylinder"]["open_findings"] == 0


async def test_at_a_station_the_fill_check_answers(client: httpx.AsyncClient) -> None:
    await f.town(client)
    cyl = await f.cylinder(client)
    r = await scan(client, photo(cyl["code"], cyl["digital_link"], COMPANY), "S1")
    assert r.status_code == 200, r.text
    check = r.json()["fill_check"]
    assert check["allowed"] is True and check["violations"] == [] and check["code"] == cyl["code"]
    operator = await f.token(client, "station_operator", company_id="C1", station_id="S1")
    assert (await scan(client, photo(cyl["code"], cyl["digital_link"], COMPANY), "S1", operator)).status_code == 200


async def test_another_companys_cylinder_at_a_station_is_refused_by_rule_and_shown_publicly(
        client: httpx.AsyncClient) -> None:
    await f.town(client)
    await f.company(client, "C2", name="别家燃气公司")
    await f.station(client, "S2", "C2")
    cyl = await f.cylinder(client)
    operator = await f.token(client, "station_operator", company_id="C2", station_id="S2")
    image = photo(cyl["code"], cyl["digital_link"], COMPANY)
    assert (await scan(client, image, headers=operator)).status_code == 403
    r = await scan(client, image, "S2", operator)
    assert r.status_code == 200
    body = r.json()
    assert [v["rule"] for v in body["fill_check"]["violations"]] == ["FILL_NOT_OWNED"]
    assert body["cylinder_view"] == "public" and "customer_id" not in body["cylinder"]
    assert body["cylinder"]["verdict"]["safe"] is True


async def test_no_code_read_is_a_422_saying_why(client: httpx.AsyncClient) -> None:
    await f.company(client)
    r = await scan(client, blank_photo())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "image"]
    assert r.json()["detail"][0]["msg"] == "no QR code could be read in the image"
    r = await scan(client, b"this is not an image")
    assert r.status_code == 422 and "not a readable image" in r.json()["detail"][0]["msg"]
    r = await scan(client, b"")
    assert r.status_code == 422


async def test_a_foreign_qr_code_is_named_as_such(client: httpx.AsyncClient) -> None:
    r = await scan(client, qr_png("http://127.0.0.1:8000/menu"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"].startswith("a QR code was found but it is not a valid cylinder code")


async def test_an_upload_over_10_mb_is_refused(client: httpx.AsyncClient) -> None:
    # just over the limit: counted while reading the image
    r = await scan(client, b"\xff" * (MAX_IMAGE_BYTES + 1))
    assert r.status_code == 413 and r.json()["limit_bytes"] == MAX_IMAGE_BYTES
    # far over it: refused by its declared length, before the form is parsed (or the token looked at)
    r = await scan(client, b"\xff" * (MAX_IMAGE_BYTES + 200_000), headers={"Authorization": ""})
    assert r.status_code == 413 and r.json()["detail"] == "the image is larger than 10 MB"
    assert (await scan(client, b"\xff" * 100, headers={"Authorization": ""})).status_code == 401


async def test_an_unregistered_code_is_404_but_at_a_station_a_black_cylinder(client: httpx.AsyncClient) -> None:
    await f.town(client)
    black = make_grai("6999999", 4, "BLACK1")
    image = photo(black.code, black.digital_link(BASE), "无名气站")
    r = await scan(client, image)
    assert r.status_code == 404
    r = await scan(client, image, "S1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cylinder"] is None and body["fill_check"]["allowed"] is False
    assert [v["rule"] for v in body["fill_check"]["violations"]] == ["FILL_UNKNOWN_CODE"]
    [finding] = await findings(client, rule="FILL_UNKNOWN_CODE")
    assert finding["subject"] == "station:S1" and finding["severity"] == "high"


async def test_a_scrapped_cylinder_scanned_again_opens_a_high_finding(client: httpx.AsyncClient) -> None:
    await f.town(client)
    cyl = await f.cylinder(client)
    await f.ok(await client.post(f"/api/v1/cylinders/{cyl['code']}/scrap", json={"event_id": f.eid(), **SCRAP}), 201)
    image = photo(cyl["code"], cyl["digital_link"], COMPANY)
    r = await scan(client, image, "S1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fill_check"]["allowed"] is False and body["cylinder"]["status"] == "scrapped"
    assert "FILL_SCRAPPED" in [v["rule"] for v in body["fill_check"]["violations"]]
    [finding] = await findings(client, rule="SCRAPPED_CYLINDER_REAPPEARED")
    assert finding["subject"] == f"cylinder:{cyl['code']}" and finding["severity"] == "high"
    assert finding["company_id"] == "C1" and finding["evidence_count"] == 1
    # a scan without a station is a sighting too: more evidence on the same finding
    r = await scan(client, image)
    assert r.status_code == 200 and r.json()["evidence_event_id"]
    assert r.json()["cylinder"]["open_findings"] == 1
    [finding] = await findings(client, rule="SCRAPPED_CYLINDER_REAPPEARED")
    assert finding["evidence_count"] == 2
    history = (await f.ok(await client.get(f"/api/v1/cylinders/{cyl['code']}/history")))["events"]
    assert [e["type"] for e in history][-2:] == ["FillCheckFlagged", "ScanFlagged"]
