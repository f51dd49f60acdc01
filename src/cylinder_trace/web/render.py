"""Rendering the desk's pages: Jinja2 templates (every value escaped), the two languages, local times,
and the security headers every page carries.

The stylesheet and the one script are files of this package served from ``/static/``; the
Content-Security-Policy allows nothing else (no inline script or style, nothing from another origin).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import i18n
from .session import Session, language

STATIC_PATH: Final = "/static"

HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_ENV: Final = Environment(
    loader=PackageLoader("cylinder_trace.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


class Params(dict[str, str]):
    """The request's query parameters for a template: a missing one reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def local_time(value: str | datetime | None, timezone: str, seconds: bool = False) -> str:
    """An ISO timestamp as the jurisdiction's wall-clock time: ``2026-11-28 10:00``."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def query(params: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from ``params`` with ``changes`` applied; empty values are left out."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def render(request: Request, template: str, timezone: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` with ``context`` and what every page needs (language, session, current address, the
    query parameters as ``filters``)."""
    lang = language(request)
    session: Session | None = getattr(request.state, "session", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def tr(zh: str, en: str) -> str:
        return zh if lang == "zh" else en

    def label(table: str, key: str | None) -> str:
        return i18n.label(getattr(i18n, table.upper()), key, lang)

    page = _ENV.get_template(template).render(
        lang=lang, tr=tr, label=label, session=session, principal=session.principal if session else None,
        csrf=session.csrf if session else "", here=here, static=STATIC_PATH, query=query,
        local=lambda value, seconds=False: local_time(value, timezone, seconds), timezone=timezone,
        filters=Params(request.query_params), **context)
    return HTMLResponse(page, status_code=status, headers=HEADERS)
