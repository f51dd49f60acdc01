"""Ledger files a regulator opens in a spreadsheet: CSV (UTF-8 with a BOM, so Excel shows Chinese) and
XLSX (openpyxl). Headers are bilingual: ``中文 (key)``."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font

ExportFormat = Literal["json", "csv", "xlsx"]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: column key → Chinese label
LABELS: dict[str, str] = {
    "id": "编号", "rule": "规则", "severity": "等级", "subject": "对象", "company_id": "责任企业", "status": "状态",
    "opened_at": "发现时间", "due_on": "整改期限", "evidence_count": "证据数", "last_evidence_at": "最近证据时间",
    "message_zh": "隐患描述", "message_en": "description", "status_changed_at": "状态变更时间",
    "status_by": "变更人", "status_note": "说明", "month": "月份", "kind": "类别", "count": "数量",
    "amount_cny": "金额(元)", "event_ids": "事件编号", "swap_id": "置换编号", "day": "日期",
    "customer_id": "用户", "old_code": "旧瓶码", "new_code": "新瓶码", "branch": "置换类型", "age_years": "瓶龄(年)",
    "years_since_inspection": "距上次检验(年)", "user_pays_cny": "用户付费(元)", "deposit_cny": "押金(元)",
    "company_pays_user_cny": "企业回收付款(元)", "topup_kg": "补气(kg)", "subsidy_cny": "补贴(元)",
    "deposit_refunded_on": "押金退还日期", "returned_code": "退还瓶码", "by_basis": "补贴依据",
}


def header(key: str) -> str:
    label = LABELS.get(key)
    return f"{label} ({key})" if label else key


#: a text cell starting with one of these is read as a formula by spreadsheets (CSV and XLSX alike)
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralized(text: str) -> str:
    """Text a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: numbers as numbers, everything else as text that is never a formula
    (a rectification note ``=cmd|' /C calc'!A0`` stays a note)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return neutralized(" ".join(str(v) for v in value))
    if isinstance(value, Mapping):
        return neutralized(json.dumps(value, ensure_ascii=False, sort_keys=True)) if value else ""
    if isinstance(value, str):
        return neutralized(value)
    return value


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def to_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], footer: Sequence[Any] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(c) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    if footer is not None:
        writer.writerow([cell(v) for v in footer])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def to_xlsx(title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
            footer: Sequence[Any] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append([header(c) for c in columns])
    for c in sheet[1]:
        c.font = Font(bold=True)
    for row in rows:
        sheet.append([cell(row.get(c)) for c in columns])
    if footer is not None:
        sheet.append([cell(v) for v in footer])
        for c in sheet[sheet.max_row]:
            c.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        width = max(len(header(column)), *(len(str(cell(r.get(column)))) for r in rows)) if rows else 12
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(60, max(10, width + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def file_response(fmt: ExportFormat, name: str, title: str, columns: Sequence[str],
                        rows: Sequence[Mapping[str, Any]], footer: Sequence[Any] | None = None) -> Response:
    """The rows as a CSV or XLSX download (``fmt`` is ``csv`` or ``xlsx``), written in a worker thread:
    a whole ledger must not hold up the event loop (``serve`` ingests valve messages on it)."""
    if fmt == "csv":
        return Response(await asyncio.to_thread(to_csv, columns, rows, footer), media_type="text/csv; charset=utf-8",
                        headers=_disposition(f"{name}.csv"))
    return Response(await asyncio.to_thread(to_xlsx, title, columns, rows, footer), media_type=XLSX_MEDIA_TYPE,
                    headers=_disposition(f"{name}.xlsx"))
