"""Labels through the real API: PNG and SVG labels that scan back to their code, A4 PDF sheets, and the
company scope and code checks in front of them."""

from __future__ import annotations

import httpx
import pymupdf

from cylinder_trace.labels.scan import decode_codes
from tests.support import factories as f

COMPANY = "大岗子燃气有限公司"


async def test_png_label_holds_the_digital_link_and_reads_back(client: httpx.AsyncClient) -> None:
    await f.company(client)
    cyl = await f.cylinder(client)
    r = await client.get(f"/api/v1/cylinders/{cyl['code']}/label")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == f'inline; filename="{cyl["code"]}.png"'
    result = decode_codes(r.content)
    assert result.code is not None and result.code.code == cyl["code"]
    assert cyl["digital_link"] == f"http://127.0.0.1:8000/8003/{cyl['code']}"


async def test_svg_label_names_the_code_and_the_company(client: httpx.AsyncClient) -> None:
    await f.company(client)
    cyl = await f.cylinder(client)
    r = await client.get(f"/api/v1/cylinders/{cyl['code']}/label", params={"format": "svg"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<?xml") and "<svg" in r.text
    assert f">{cyl['code']}</text>" in r.text and f">{COMPANY}</text>" in r.text


async def test_a_label_is_read_like_the_cylinder(client: httpx.AsyncClient) -> None:
    await f.company(client)
    await f.company(client, "C2")
    cyl = await f.cylinder(client)
    other = await f.token(client, "company_admin", company_id="C2")
    own = await f.token(client, "station_operator", company_id="C1")
    path = f"/api/v1/cylinders/{cyl['code']}/label"
    assert (await client.get(path, headers=other)).status_code == 403
    assert (await client.get(path, headers=own)).status_code == 200
    assert (await client.get(path, headers={"Authorization": ""})).status_code == 401
    assert (await client.get("/api/v1/cylinders/06901234000016CYL0001/label")).status_code == 404
    bad = await client.get("/api/v1/cylinders/06901234000017CYL0001/label")
    assert bad.status_code == 422 and "check digit" in bad.text
    assert (await client.get(path, params={"format": "gif"})).status_code == 422


async def test_sheet_is_an_a4_pdf_with_every_label_in_order(client: httpx.AsyncClient) -> None:
    await f.company(client)
    codes = [(await f.cylinder(client))["code"] for _ in range(3)]
    wanted = codes * 7  # 21 labels: a second page
    r = await client.post("/api/v1/labels/sheet", json={"codes": wanted})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    with pymupdf.open(stream=r.content, filetype="pdf") as doc:
        assert doc.page_count == 2
        assert round(doc[0].rect.width / 72 * 25.4) == 210 and round(doc[0].rect.height / 72 * 25.4) == 297
        first, second = doc[0].get_text(), doc[1].get_text()
    assert [first.count(c) for c in codes] == [7, 7, 6] and second.count(codes[2]) == 1
    assert COMPANY in first


async def test_sheet_names_the_bad_or_unknown_code(client: httpx.AsyncClient) -> None:
    await f.company(client)
    await f.company(client, "C2")
    good = (await f.cylinder(client))["code"]
    unknown = "06901234000016CYL0001"
    r = await client.post("/api/v1/labels/sheet", json={"codes": [good, unknown]})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "codes", "1"] and unknown in error["msg"] and "not registered" in error["msg"]
    r = await client.post("/api/v1/labels/sheet", json={"codes": ["0690123400001XCYL1", good]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "codes", "0"]
    assert (await client.post("/api/v1/labels/sheet", json={"codes": []})).status_code == 422
    other = await f.token(client, "company_admin", company_id="C2")
    assert (await client.post("/api/v1/labels/sheet", json={"codes": [good]}, headers=other)).status_code == 403
