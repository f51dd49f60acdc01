"""``/api/v1/<collection>``: create, read and change registry entries (one router per collection)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...app.errors import Forbidden, NotFound
from ...app.principals import Principal
from ...app.registries import (
    KINDS,
    RegistryKind,
    change_entry,
    create_entry,
    entry_company,
    get_entry,
    public_view,
)
from ...app.unit_of_work import Tx
from ..commands import REFUSAL_RESPONSES
from ..deps import Caller, Svc
from ..personal import shown_data
from ..schemas import REGISTRY_SCHEMAS, Strict, patch_model
from .devices import valve_device_fields

router = APIRouter(prefix="/api/v1", tags=["registries"], responses=REFUSAL_RESPONSES)


#: what an inspector reads of the registries besides cylinders: who owns a cylinder and who inspects it
INSPECTOR_READS: Final = frozenset({"company", "agency"})


def _may_read(caller: Principal, kind: RegistryKind, entry: dict[str, Any]) -> bool:
    if kind.kind == "agency" or (caller.role == "inspector" and kind.kind in INSPECTOR_READS):
        return True
    return caller.can_read_records_of(entry_company(kind, entry))


def _register(collection: str, kind: RegistryKind, schema: type[Strict]) -> None:
    patch_schema = patch_model(schema)
    singular = kind.kind

    async def post(body: Strict, services: Svc, caller: Caller) -> JSONResponse:
        entry = body.model_dump(mode="json", exclude_none=True)

        async def handler(tx: Tx) -> Any:
            return await create_entry(tx, kind, entry, caller, cipher=services.personal)

        outcome = await services.uow.write(handler)
        # the answer holds only what the caller sent: no read to log
        return JSONResponse(await _shown(services, caller, kind, outcome.body, audit=False),
                            status_code=outcome.status)

    async def get(entry_id: str, services: Svc, caller: Caller) -> JSONResponse:
        async def reader(conn: Any) -> dict[str, Any] | None:
            return await get_entry(conn, kind.kind, entry_id)

        entry = await services.uow.read(reader)
        if entry is None:
            raise NotFound(singular, entry_id)
        if not _may_read(caller, kind, entry):
            raise Forbidden(f"this token may not read {singular} {entry_id}")
        body = await _shown(services, caller, kind, public_view(kind, entry))
        if kind.kind == "valve":  # a valve's registry entry with its device status (API.md, Devices)
            body.update(await valve_device_fields(services, entry_id))
        return JSONResponse(body)

    async def patch(entry_id: str, body: Strict, services: Svc, caller: Caller) -> JSONResponse:
        changes = body.model_dump(mode="json", exclude_unset=True)

        async def handler(tx: Tx) -> Any:
            return await change_entry(tx, kind, entry_id, changes, caller, cipher=services.personal)

        outcome = await services.uow.write(handler)
        return JSONResponse(await _shown(services, caller, kind, outcome.body), status_code=outcome.status)

    # the body types are made at run time, so they are set here rather than written as annotations
    post.__annotations__["body"] = schema
    patch.__annotations__["body"] = patch_schema
    router.add_api_route(f"/{collection}", post, methods=["POST"], status_code=201,
                         summary=f"Register a {singular}", operation_id=f"create_{singular}")
    router.add_api_route(f"/{collection}/{{entry_id}}", get, methods=["GET"],
                         summary=f"Read a {singular}", operation_id=f"get_{singular}")
    router.add_api_route(f"/{collection}/{{entry_id}}", patch, methods=["PATCH"],
                         summary=f"Change a {singular} (kept with who and when)",
                         operation_id=f"change_{singular}")


async def _shown(services: Svc, caller: Principal, kind: RegistryKind, entry: dict[str, Any], *,
                 audit: bool = True) -> dict[str, Any]:
    """An entry as the caller may see it: personal fields opened for admins and regulators (and, with
    ``audit``, the read logged), masked for everyone else."""
    if not kind.personal_fields:
        return entry
    shown: dict[str, Any] = await shown_data(services, caller, entry, f"{kind.kind}:{entry[kind.id_field]}",
                                             audit=audit)
    return shown


for _collection, _kind in KINDS.items():
    _register(_collection, _kind, REGISTRY_SCHEMAS[_collection])
