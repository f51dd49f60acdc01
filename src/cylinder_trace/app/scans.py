"""Scanning a photo from a station camera (``POST /api/v1/scan``): read the code, show the cylinder,
and at a station answer the fill pre-check as ``POST /api/v1/fill-checks`` does.

A sighting is evidence: at a station the fill check records a scrapped cylinder seen again
(``SCRAPPED_CYLINDER_REAPPEARED``) or an unregistered code (``FILL_UNKNOWN_CODE``); a scan without a
station records a scrapped cylinder the same way (a ``ScanFlagged`` event on its stream).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Final

from ..domain.commands import CheckFill
from ..domain.events import SCAN_FLAGGED, NewEvent, cylinder_stream
from ..domain.rules.fill import StateContext, scrapped_reappeared
from ..labels.scan import UnreadableImage, decode_codes
from .cylinders import CodeSettings, cylinder_view
from .errors import Forbidden, InvalidInput, NotFound, TooLarge
from .fill_checks import IssueFillAuthorization, check_fill
from .findings import open_findings_of_cylinder
from .principals import Principal
from .public import public_state
from .unit_of_work import Tx, UnitOfWork

#: the largest photo accepted (a 1080p JPEG is well under 1 MB)
MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
#: how long the decoder may try harder preparations on a difficult photo
SCAN_BUDGET_S: Final = 1.5


async def read_code(image: bytes, budget_s: float = SCAN_BUDGET_S) -> str:
    """The cylinder code in a photo, or 422 (``image``) saying why none could be read."""
    if len(image) > MAX_IMAGE_BYTES:
        raise TooLarge("the image", MAX_IMAGE_BYTES)
    if not image:
        raise InvalidInput("image", "the image is empty")
    try:
        result = await asyncio.to_thread(decode_codes, image, budget_s)
    except UnreadableImage as exc:
        raise InvalidInput("image", f"not a readable image: {exc}") from None
    if result.code is None:
        raise InvalidInput("image", result.failure_reason() or "no cylinder code could be read")
    return result.code.code


async def scan(uow: UnitOfWork, code: str, station_id: str | None, caller: Principal, codes: CodeSettings,
               authorizer: IssueFillAuthorization | None = None) -> dict[str, Any]:
    """``{code, cylinder, fill_check?}`` for a code read from a photo.

    Without a station: the caller must be allowed to read the cylinder (404 unknown, 403 another
    company's). At a station the fill check answers (an unknown code is ``FILL_UNKNOWN_CODE``, not a
    404) and a cylinder of another company is shown as the public sees it.
    """
    async def handler(tx: Tx) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code}
        if station_id is not None:
            body["fill_check"] = await check_fill(tx, CheckFill(code, station_id), caller, authorizer)
        state = await tx.load_cylinder(code)
        if station_id is None:
            if state is None:
                raise NotFound("cylinder", code)
            if not caller.can_read_company(state.company_id):
                raise Forbidden("this token may not read cylinders of another company")
            flagged = scrapped_reappeared(state, StateContext(tx.today(), tx.policy()))
            if flagged:
                data = {"action": "scan", "code": code, "violations": [v.to_json() for v in flagged]}
                recorded = await tx.record([NewEvent(SCAN_FLAGGED, data, tx.now, cylinder_stream(code))],
                                           event_id=str(uuid.uuid4()), actor=caller.actor)
                body["evidence_event_id"] = recorded[0].event_id
                state = await tx.load_cylinder(code)
        if state is None:
            body["cylinder"] = None
        elif caller.can_read_company(state.company_id):
            body["cylinder"] = cylinder_view(state, codes)
        else:
            body["cylinder"] = public_state(state, tx.today(), tx.policy(), codes)
            body["cylinder_view"] = "public"
        return body

    body = await uow.write(handler)
    if body["cylinder"] is not None and "cylinder_view" not in body:
        body["cylinder"]["open_findings"] = await uow.read(lambda conn: open_findings_of_cylinder(conn, code))
    return body
