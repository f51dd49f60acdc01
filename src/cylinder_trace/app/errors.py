"""Errors with meaning. One place (``api/errors.py``) maps them to HTTP; the core never knows HTTP."""

from __future__ import annotations

# a failure that waiting can cure (the database or the network), not one of the data: the doors retry it
from ..store.db import is_transient as is_transient


class AppError(Exception):
    """Base of every expected failure a client can cause."""


class NotFound(AppError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"unknown {kind} {ident!r}")
        self.kind = kind
        self.ident = ident


class InvalidInput(AppError):
    """Input that is well-typed but wrong: names the field and why. Nothing is stored."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Forbidden(AppError):
    pass


class Conflict(AppError):
    pass


class RateLimited(AppError):
    """Too many requests from one client in a window; ``retry_after_s`` says when to try again."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class TooLarge(AppError):
    """An upload over its size limit."""

    def __init__(self, what: str, limit_bytes: int) -> None:
        super().__init__(f"{what} is larger than {limit_bytes // (1024 * 1024)} MB")
        self.limit_bytes = limit_bytes

