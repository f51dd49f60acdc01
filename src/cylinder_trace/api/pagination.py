"""Keyset paging: ``?limit=&cursor=`` where the cursor is the last key of the previous page."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import HTTPException, Query

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="from the previous page's next_cursor")]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def _not_ours(param: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["query", param], "msg": "not a cursor from this API", "type": "value_error"}])


def decode_cursor(cursor: str | None, param: str = "cursor") -> str | None:
    if cursor is None:
        return None
    try:
        key = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        raise _not_ours(param) from None
    if "\x00" in key:
        raise _not_ours(param)
    return key


def decode_position(cursor: str | None, param: str = "cursor") -> int | None:
    """A cursor that holds a position (a row number to continue after or before)."""
    raw = decode_cursor(cursor, param)
    if raw is None:
        return None
    if not raw.isdigit():
        raise _not_ours(param)
    return int(raw)
