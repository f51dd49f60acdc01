"""Codes in the physical world: a cylinder's label (PNG, SVG), A4 label sheets (PDF), and scanning a
photo from a station camera."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncConnection

from ...app import labels as app_labels
from ...app import scans
from ...app.cylinder_reads import readable_state
from ...app.errors import TooLarge
from ...labels.render import LabelSpec, label_png, label_sheet_pdf, label_svg
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..schemas import Ident, LabelSheetIn

router = APIRouter(prefix="/api/v1", tags=["labels"], responses=REFUSAL_RESPONSES)

#: room for the multipart envelope and the station_id field around the image
_FORM_OVERHEAD = 64 * 1024


class _DeclaredSizeLimit(APIRoute):
    """Refuses a body whose declared length is over the image limit before the multipart parser spools
    it; the bytes actually read are counted again in the handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def limited(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > scans.MAX_IMAGE_BYTES + _FORM_OVERHEAD:
                raise TooLarge("the image", scans.MAX_IMAGE_BYTES)
            return await handle(request)

        return limited


scan_router = APIRouter(prefix="/api/v1", tags=["labels"], responses=REFUSAL_RESPONSES,
                        route_class=_DeclaredSizeLimit)

_PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}, "image/svg+xml": {}}, "description": "the label"}}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "an A4 sheet of labels"}}


def _render(spec: LabelSpec, fmt: str) -> bytes:
    if fmt == "svg":
        return label_svg(spec.code, spec.digital_link, spec.company_name).encode()
    return label_png(spec.code, spec.digital_link, spec.company_name)


@router.get("/cylinders/{code}/label", response_class=Response, responses=_PNG,
            summary="A printable label: QR (the Digital Link), company name and the code in text")
async def get_label(code: str, services: Svc, caller: Caller,
                    format: Annotated[Literal["png", "svg"], Query()] = "png") -> Response:
    async def reader(conn: AsyncConnection) -> LabelSpec:
        state = await readable_state(conn, code, caller)
        return await app_labels.label_for(conn, state, services.codes)

    spec = await services.uow.read(reader)
    content = await asyncio.to_thread(_render, spec, format)
    media = "image/svg+xml" if format == "svg" else "image/png"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'inline; filename="{spec.code}.{format}"'})


@router.post("/labels/sheet", response_class=Response, responses=_PDF,
             summary="An A4 PDF sheet of labels for the given codes (20 a page, in the order given)")
async def post_label_sheet(body: LabelSheetIn, services: Svc, caller: Caller) -> Response:
    async def reader(conn: AsyncConnection) -> list[LabelSpec]:
        return await app_labels.labels_for(conn, body.codes, caller, services.codes)

    specs = await services.uow.read(reader)
    pdf = await asyncio.to_thread(label_sheet_pdf, specs)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="labels.pdf"'})


@scan_router.post("/scan", summary="Read the cylinder code in a station camera photo; with station_id, the fill check",
             responses={413: {"description": "the image is larger than 10 MB"}})
async def post_scan(
    services: Svc, caller: Caller,
    image: Annotated[UploadFile, File(description="a photo (JPEG, PNG …) showing the cylinder's QR label")],
    station_id: Annotated[Ident | None, Form(description="the station scanning: also run the fill check")] = None,
) -> JSONResponse:
    # a body declared too large never gets here (_DeclaredSizeLimit); one sent without a length is counted
    data = await image.read(scans.MAX_IMAGE_BYTES + 1)
    code = await scans.read_code(data)
    body: dict[str, Any] = await scans.scan(services.uow, code, station_id, caller, services.codes,
                                            services.fill_authorizer)
    return JSONResponse(body)
