"""The SQL statements a service sends, seen from inside a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from cylinder_trace.app.services import Services


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    """Every statement the services' engine runs inside the block, in order."""
    seen: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(services.engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", keep)
