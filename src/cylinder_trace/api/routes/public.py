"""The public side, no token: a cylinder's page behind its QR code (``/8003/{grai}``, the GS1 Digital
Link) and public reports (``POST /api/v1/reports``, rate-limited per client)."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import reports
from ...app.errors import RateLimited
from ...app.public import UnknownPublicCode, public_page
from ...app.unit_of_work import Outcome, Tx
from ...web import pages
from ..client_address import client_address
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..schemas import ReportIn, ReportOut

router = APIRouter(tags=["public"])

_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


def _page_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; connect-src 'self'; "
            "form-action 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
        "Vary": "Accept",
    }


def wants_json(accept: str | None) -> bool:
    """JSON when the client lists ``application/json`` before (or without) ``text/html``."""
    if not accept:
        return False
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if "application/json" not in kinds:
        return False
    return "text/html" not in kinds or kinds.index("application/json") < kinds.index("text/html")


@router.get("/8003/{grai}", include_in_schema=False)
async def cylinder_page(grai: str, services: Svc,
                        accept: Annotated[str | None, Header()] = None) -> Response:
    """The public page of a cylinder (HTML; JSON with ``Accept: application/json``). No customer data."""
    nonce = secrets.token_urlsafe(16)
    try:
        view = await public_page(services.uow, grai, services.codes)
    except UnknownPublicCode as exc:
        if wants_json(accept):
            return JSONResponse({"detail": exc.reason, "code": exc.code, "report": pages.REPORTS_PATH},
                                status_code=404, headers={"Vary": "Accept"})
        return HTMLResponse(pages.unknown_code_page(exc.code, exc.reason, nonce), status_code=404,
                            headers=_page_headers(nonce))
    if wants_json(accept):
        return JSONResponse(view, headers={"Vary": "Accept"})
    return HTMLResponse(pages.cylinder_page(view, nonce), headers=_page_headers(nonce))


_REPORT_BODY: Final = {
    "required": True,
    "content": {
        "application/json": {"schema": ReportIn.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": ReportIn.model_json_schema()},
    },
}


async def _report_fields(request: Request, is_form: bool) -> dict[str, Any]:
    if is_form:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str) and (v != "" or k == "description")}
    try:
        raw = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise RequestValidationError([{"loc": ("body",), "msg": "the body is not JSON", "type": "json_invalid"}]) \
            from None
    except RecursionError:
        raise RequestValidationError([{"loc": ("body",), "msg": "the body is nested too deeply",
                                       "type": "json_invalid"}]) from None
    if not isinstance(raw, dict):
        raise RequestValidationError([{"loc": ("body",), "msg": "expected a JSON object", "type": "dict_type"}])
    return raw


@router.post(
    "/api/v1/reports", status_code=201, response_model=ReportOut, openapi_extra={"requestBody": _REPORT_BODY},
    summary="Report an illegal dealer or a suspicious cylinder (举报; no token, rate-limited per client)",
    responses={422: {"description": "invalid report"}, 429: {"description": "too many reports from this client"}},
)
async def post_report(request: Request, services: Svc) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_form = content_type in _FORM_TYPES
    fields = await _report_fields(request, is_form)
    nonce = secrets.token_urlsafe(16)
    try:
        body = ReportIn.model_validate(fields)
    except ValidationError as exc:
        if is_form:
            return HTMLResponse(pages.report_refused_page("请选择举报类型并填写举报内容。", nonce), status_code=422,
                                headers=_page_headers(nonce))
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                      for e in exc.errors(include_url=False, include_context=False)]) from None
    report = reports.PublicReport(body.kind, body.description, body.code or None, body.contact or None)
    client = client_address(request, services.settings.trusted_proxy_networks)

    async def handler(tx: Tx) -> Outcome:
        return await reports.submit_report(tx, report, client)

    if not is_form:
        outcome = await services.uow.write(handler)
        return JSONResponse(outcome.body, status_code=outcome.status)
    try:
        outcome = await services.uow.write(handler)
    except RateLimited as exc:
        return HTMLResponse(pages.report_refused_page("提交过于频繁，请稍后再试。", nonce), status_code=429,
                            headers={**_page_headers(nonce), "Retry-After": str(exc.retry_after_s)})
    return HTMLResponse(pages.report_received_page(outcome.body["report_id"], nonce), status_code=201,
                        headers=_page_headers(nonce))


@router.get("/api/v1/reports/{report_id}", summary="A public report as received, with the reporter's contact "
            "(regulator, admin)", responses=REFUSAL_RESPONSES)
async def get_report(report_id: str, services: Svc, caller: Caller) -> JSONResponse:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await reports.read_report(conn, caller, report_id)

    return JSONResponse(await services.uow.read(reader))
