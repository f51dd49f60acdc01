"""The regulator's desk: every page route, listed once in :data:`PAGE_ROUTES`.

Each route parses, calls the same ``app/`` readers and handlers as the API (which decide who may see
and do what), and renders. No SQL and no rule here. A company sees only its own data, and ID numbers are
masked for everyone but admin and regulator, as through the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..api.deps import Svc, principal_of
from ..api.exports import ExportFormat
from ..api.pagination import decode_cursor, decode_position, encode_cursor
from ..api.personal import shown_data, shown_history
from ..api.routes.findings import change_finding, findings_file
from ..api.routes.ledgers import subsidies_file, swaps_file
from ..api.schemas import FindingNoteIn
from ..app import cylinder_reads as reads
from ..app import dashboard as board
from ..app import devices, findings, ledgers, scans
from ..app.cylinders import parse_code
from ..app.errors import Conflict, Forbidden, InvalidInput, NotFound
from ..app.policies import today_and_policy
from ..app.principals import Principal, principal_names
from ..app.services import Services
from ..domain.codes import InvalidCode, code_from_scan
from ..domain.cylinder import STATUSES
from ..domain.dates import local_day
from ..domain.findings import TRANSITIONS, Action
from ..domain.rules.catalogue import CATALOGUE
from ..store.db import loads_json
from . import views
from .render import render
from .routing import PageRoute
from .session import (
    PageCaller,
    check_csrf,
    check_signin_token,
    current_session,
    end_session,
    new_signin_token,
    remember_signin_token,
    safe_next,
    set_language,
    start_session,
)
from .timeline import actor_id, timeline

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class PageRouteSpec:
    method: str
    path: str
    #: who may use it; anyone else gets what the API would answer (a page without a session: sign in)
    who: str


#: every page route (the route matrix test covers each; a route missing here fails ``test_pages_listed``)
PAGE_ROUTES: Final[tuple[PageRouteSpec, ...]] = (
    PageRouteSpec("GET", "/", "anyone"),
    PageRouteSpec("GET", "/signin", "anyone"),
    PageRouteSpec("POST", "/signin", "anyone with a valid token and the form's token"),
    PageRouteSpec("POST", "/signout", "signed in"),
    PageRouteSpec("GET", "/lang/{lang}", "anyone"),
    PageRouteSpec("GET", "/desk", "signed in; a company sees its own numbers"),
    PageRouteSpec("GET", "/desk/cylinders", "signed in; lists as GET /api/v1/cylinders"),
    PageRouteSpec("POST", "/desk/cylinders/scan", "signed in"),
    PageRouteSpec("GET", "/desk/cylinders/{code}", "who may read the cylinder (GET /api/v1/cylinders/{code})"),
    PageRouteSpec("GET", "/desk/findings", "as GET /api/v1/findings"),
    PageRouteSpec("GET", "/desk/findings/{finding_id}", "as GET /api/v1/findings/{id}"),
    PageRouteSpec("POST", "/desk/findings/{finding_id}/{action}", "as POST /api/v1/findings/{id}/{action}"),
    PageRouteSpec("GET", "/desk/ledgers/subsidies", "as GET /api/v1/ledgers/subsidies"),
    PageRouteSpec("GET", "/desk/ledgers/swaps", "as GET /api/v1/ledgers/swaps"),
    PageRouteSpec("GET", "/desk/valves", "signed in; a company sees its own valves"),
    PageRouteSpec("GET", "/desk/valves/dead-letters", "admin, regulator (GET /api/v1/dead-letters)"),
)

PAGE_SIZE: Final = 50
Text = Annotated[str, Form(max_length=2000)]
Blank = str | None


def _tz(services: Services) -> str:
    return services.settings.timezone


def _choice(value: Blank, allowed: tuple[str, ...] | frozenset[str], field: str) -> str | None:
    """A filter from a form: empty means any; anything else must be one of ``allowed``."""
    if not value:
        return None
    if value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(sorted(allowed))}")
    return value


def _day(value: Blank, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "a date is written YYYY-MM-DD") from None


def _moment(value: Blank, timezone: str) -> datetime | None:
    """An "as of" time: ISO 8601 with an offset, or the jurisdiction's wall-clock time from a picker."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("as_of", "a time is written YYYY-MM-DDTHH:MM[:SS][+08:00]") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _format(value: Blank) -> ExportFormat | None:
    return _choice(value, ("csv", "xlsx"), "format")  # type: ignore[return-value]


def _window(services: Services) -> board.Window:
    now, _, policy = today_and_policy(services.uow)
    return board.Window(now, _tz(services), policy)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- signing in ------------------------------------------------------------------------------------
@router.get("/")
async def landing(request: Request, services: Svc) -> Response:
    await current_session(request, services)
    return render(request, "landing.html", _tz(services))


def _signin_page(request: Request, services: Services, target: str, *, error: str | None = None,
                 status: int = 200) -> Response:
    token = new_signin_token()
    response = render(request, "signin.html", _tz(services), status=status, signin_csrf=token, next=target,
                      error=error)
    remember_signin_token(response, request, services.settings, token)
    return response


@router.get("/signin")
async def signin_form(request: Request, services: Svc, next: Blank = None) -> Response:
    return _signin_page(request, services, safe_next(next))


@router.post("/signin")
async def signin(request: Request, services: Svc, token: Annotated[str, Form(max_length=500)],
                 csrf: Annotated[str, Form(max_length=100)], next: Annotated[str, Form(max_length=2000)] = "",
                 ) -> Response:
    check_signin_token(request, csrf)
    if not token.strip() or await principal_of(services, token.strip()) is None:
        return _signin_page(request, services, safe_next(next), error="unknown", status=401)
    response = _see_other(safe_next(next))
    start_session(response, request, services.settings, token.strip())
    return response


@router.post("/signout")
async def signout(request: Request, services: Svc, caller: PageCaller,
                  csrf: Annotated[str, Form(max_length=100)]) -> Response:
    check_csrf(request, csrf)
    response = _see_other("/")
    end_session(response, request, services.settings)
    return response


@router.get("/lang/{lang}")
async def switch_language(request: Request, services: Svc, lang: Literal["zh", "en"], next: Blank = None,
                          ) -> Response:
    response = _see_other(safe_next(next or "/"))
    set_language(response, request, services.settings, lang)
    return response


# --- dashboard -------------------------------------------------------------------------------------
@router.get("/desk")
async def dashboard(request: Request, services: Svc, caller: PageCaller, company_id: Blank = None) -> Response:
    window = _window(services)

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await board.dashboard(conn, caller, window, company_id or None)

    numbers = await services.uow.read(reader)
    return render(request, "dashboard.html", _tz(services), numbers=numbers,
                  charts=views.dashboard_charts(numbers, request))


# --- cylinders -------------------------------------------------------------------------------------
@router.get("/desk/cylinders")
async def cylinders(request: Request, services: Svc, caller: PageCaller, q: Blank = None, status: Blank = None,
                    overdue: Blank = None, owner_company_id: Blank = None, cursor: Blank = None) -> Response:
    if q:
        try:
            return _see_other(f"/desk/cylinders/{quote(code_from_scan(q).code)}")
        except InvalidCode as exc:
            return await _search_page(request, services, caller, q=q, error=exc.reason, status=422)
    wanted = reads.CylinderFilter(_choice(status, STATUSES, "status"), owner_company_id or None,
                                  {"true": True, "false": False}.get(overdue or ""), decode_cursor(cursor or None),
                                  PAGE_SIZE)
    return await _search_page(request, services, caller, wanted=wanted)


async def _listing(services: Services, caller: Principal, wanted: reads.CylinderFilter) -> dict[str, Any]:
    today = local_day(services.uow.clock(), _tz(services))

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        items, last = await reads.page(conn, wanted, caller, services.codes, today)
        return {"items": items, "next_cursor": encode_cursor(last) if last else None}

    return await services.uow.read(reader)


async def _search_page(request: Request, services: Services, caller: Principal, *, q: str = "",
                       error: str | None = None, status: int = 200,
                       wanted: reads.CylinderFilter | None = None) -> Response:
    listing = await _listing(services, caller, wanted or reads.CylinderFilter(limit=PAGE_SIZE))
    return render(request, "cylinders.html", _tz(services), status=status, q=q, error=error, listing=listing,
                  statuses=STATUSES)


@router.post("/desk/cylinders/scan")
async def scan(request: Request, services: Svc, caller: PageCaller,
               image: Annotated[UploadFile, File()], csrf: Annotated[str, Form(max_length=100)]) -> Response:
    check_csrf(request, csrf)
    try:
        code = await scans.read_code(await image.read(scans.MAX_IMAGE_BYTES + 1))
    except InvalidInput as exc:
        return await _search_page(request, services, caller, error=exc.reason, status=422)
    return _see_other(f"/desk/cylinders/{quote(code)}")


@router.get("/desk/cylinders/{code}")
async def cylinder(request: Request, services: Svc, caller: PageCaller, code: str, as_of: Blank = None) -> Response:
    code = parse_code(code)
    moment = _moment(as_of, _tz(services))

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        current = await reads.current(conn, code, caller, services.codes)
        history = loads_json(await reads.history(conn, code, caller, services.codes, moment))
        chain = await reads.verify(conn, code, caller)
        names = await principal_names(conn, (actor_id(e["actor"]) for e in history["events"]))
        return {"current": current, "history": history, "chain": chain, "names": names}

    try:
        seen = await services.uow.read(reader)
    except (NotFound, Forbidden):
        # another company's cylinder is shown exactly as an unknown one
        return render(request, "cylinder_missing.html", _tz(services), status=404, code=code)
    history = await shown_history(services, caller, seen["history"])
    return render(request, "cylinder.html", _tz(services), code=code, current=seen["current"], history=history,
                  steps=timeline(history["events"], seen["names"]), chain=seen["chain"], as_of=moment,
                  # the signed checkpoint's inclusion proof goes here once the service keeps checkpoints
                  checkpoint=None)


# --- findings --------------------------------------------------------------------------------------
@router.get("/desk/findings", response_model=None)
async def findings_ledger(request: Request, services: Svc, caller: PageCaller, status: Blank = None,
                          rule: Blank = None, severity: Blank = None, company_id: Blank = None,
                          subject_kind: Blank = None, subject: Blank = None, cursor: Blank = None,
                          format: Blank = None) -> Response:
    flt = findings.FindingFilter(
        _choice(status, tuple(views.FINDING_STATUSES), "status"), rule or None,
        _choice(severity, ("block", "high", "warn"), "severity"), company_id or None, subject or None,
        _choice(subject_kind, findings.SUBJECT_KINDS, "subject_kind"))
    fmt = _format(format)
    after = None if fmt else decode_cursor(cursor or None)

    async def reader(conn: AsyncConnection) -> tuple[list[dict[str, Any]], str | None]:
        return await findings.list_findings(conn, caller, flt, None if fmt else PAGE_SIZE, after)

    rows, next_key = await services.uow.read(reader)
    if fmt:
        return await findings_file(fmt, rows)
    return render(request, "findings.html", _tz(services), rows=rows,
                  next_cursor=encode_cursor(next_key) if next_key else None, rules=sorted(CATALOGUE),
                  subject_kinds=findings.SUBJECT_KINDS)


async def _finding_page(request: Request, services: Services, caller: Principal, finding_id: str, *,
                        error: str | None = None, status: int = 200) -> Response:
    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await findings.read_finding(conn, caller, finding_id)

    finding = await services.uow.read(reader)
    finding = await shown_data(services, caller, finding, f"finding:{finding_id}")
    actions = [a for a, (allowed, _) in TRANSITIONS.items()
               if finding["status"] in allowed and findings.may_change(caller, a, finding["company_id"])]
    return render(request, "finding.html", _tz(services), status=status, finding=finding, actions=actions,
                  event_id=str(uuid.uuid4()), error=error, done=request.query_params.get("done"))


@router.get("/desk/findings/{finding_id}")
async def finding(request: Request, services: Svc, caller: PageCaller, finding_id: str) -> Response:
    return await _finding_page(request, services, caller, finding_id)


@router.post("/desk/findings/{finding_id}/{action}")
async def change(request: Request, services: Svc, caller: PageCaller, finding_id: str, action: Action,
                 note: Text, event_id: Annotated[str, Form(max_length=64)], csrf: Annotated[str, Form(max_length=100)],
                 ) -> Response:
    check_csrf(request, csrf)
    try:
        body = FindingNoteIn(note=note, event_id=event_id)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        raise InvalidInput(field, "a note of 1 to 500 characters is needed" if field == "note" else "invalid") \
            from None
    try:
        await change_finding(services, caller, finding_id, action, body)
    except Conflict as exc:
        return await _finding_page(request, services, caller, finding_id, error=str(exc), status=409)
    return _see_other(f"/desk/findings/{quote(finding_id)}?done={action}")


# --- ledgers ---------------------------------------------------------------------------------------
@router.get("/desk/ledgers/subsidies", response_model=None)
async def subsidies(request: Request, services: Svc, caller: PageCaller) -> Response:
    """``?company_id=&from=&to=&format=`` as the API's ledger."""
    return await _ledger(request, services, caller, "subsidies")


@router.get("/desk/ledgers/swaps", response_model=None)
async def swaps(request: Request, services: Svc, caller: PageCaller) -> Response:
    """``?company_id=&from=&to=&format=`` as the API's ledger."""
    return await _ledger(request, services, caller, "swaps")


async def _ledger(request: Request, services: Services, caller: Principal,
                  kind: Literal["subsidies", "swaps"]) -> Response:
    params = request.query_params
    rng = ledgers.LedgerRange(params.get("company_id") or None, _day(params.get("from"), "from"),
                              _day(params.get("to"), "to"))
    read = ledgers.subsidies if kind == "subsidies" else ledgers.swaps

    async def reader(conn: AsyncConnection) -> dict[str, Any]:
        return await read(conn, caller, rng)

    body = await services.uow.read(reader)
    fmt = _format(params.get("format"))
    if fmt:
        return await (subsidies_file if kind == "subsidies" else swaps_file)(fmt, body)
    return render(request, f"{kind}.html", _tz(services), ledger=body)


# --- valves ----------------------------------------------------------------------------------------
@router.get("/desk/valves")
async def valves(request: Request, services: Svc, caller: PageCaller, company_id: Blank = None,
                 cursor: Blank = None) -> Response:
    window = _window(services)

    async def reader(conn: AsyncConnection) -> devices.ValvePage:
        return await devices.valve_page(conn, caller, now=window.now, offline_after=views.offline_after(window),
                                        company_id=company_id or None, after=decode_cursor(cursor or None),
                                        limit=PAGE_SIZE)

    page = await services.uow.read(reader)
    return render(request, "valves.html", _tz(services), valves=page.items,
                  next_cursor=encode_cursor(page.next_after) if page.next_after else None,
                  offline_hours=window.policy.valve_offline_hours)


@router.get("/desk/valves/dead-letters")
async def dead_letters(request: Request, services: Svc, caller: PageCaller, kind: Blank = None,
                       valve_id: Blank = None, cursor: Blank = None) -> Response:
    before = decode_position(cursor or None)

    async def reader(conn: AsyncConnection) -> Any:
        return await devices.dead_letters(conn, caller, limit=PAGE_SIZE, before=before, kind=kind or None,
                                          valve_id=valve_id or None)

    page = await services.uow.read(reader)
    return render(request, "dead_letters.html", _tz(services), letters=page.items,
                  next_cursor=encode_cursor(str(page.next_before)) if page.next_before is not None else None)
