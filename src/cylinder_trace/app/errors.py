"""Errors with meaning. One place (``api/errors.py``) maps them to HTTP; the core never knows HTTP."""

from __future__ import annotations


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
