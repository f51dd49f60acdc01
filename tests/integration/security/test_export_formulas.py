"""Hole 7: text that would start a formula reaches the regulator's spreadsheet as text."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from tests.support import factories as f

NOTE = "=cmd|' /C calc'!A0"


async def test_a_rectify_note_is_no_formula_in_csv_or_xlsx(client: httpx.AsyncClient) -> None:
    await f.ok(await client.post("/api/v1/reports", json={"kind": "other", "description": "@SUM(1+1)*cmd"}), 201)
    (finding,) = (await f.ok(await client.get("/api/v1/findings")))["items"]
    await f.ok(await client.post(f"/api/v1/findings/{finding['id']}/rectify", json={"note": NOTE}))
    text = (await client.get("/api/v1/findings", params={"format": "csv"})).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["说明 (status_note)"] == "'" + NOTE
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())
    book = load_workbook(io.BytesIO((await client.get("/api/v1/findings", params={"format": "xlsx"})).content))
    sheet = book.active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    note = next(c for c in cells if NOTE in c.value)
    assert note.data_type == "s" and note.value == "'" + NOTE
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
