"""Keyset paging: ``?limit=&cursor=`` where the cursor is the last key of the previous page."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import HTTPException, Query

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="from the previous page's next_cursor")]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        raise HTTPException(422, [{"loc": ["query", "cursor"], "msg": "not a cursor from this API",
                                   "type": "value_error"}]) from None
