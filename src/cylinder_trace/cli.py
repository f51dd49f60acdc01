"""``cylinder-trace``: serve, migrate, token create (and more as features land)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn

from .app.principals import NewPrincipal, admin_principal, create_principal
from .app.services import build_services
from .app.unit_of_work import Tx
from .settings import get_settings
from .store.migrate import upgrade

app = typer.Typer(help="LPG cylinder traceability (一瓶一码).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command()
def migrate() -> None:
    """Bring the database (CT_DATABASE_URL) to the newest schema."""
    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Migrate the database to head, then serve the API, the pages and the MQTT ingestor."""
    settings = get_settings()
    upgrade(settings.database_url)
    from .api.main import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, regulator, company_admin, station_operator, "
                                            "delivery_worker or inspector")],
    name: Annotated[str, typer.Option(help="who holds the token")],
    company_id: Annotated[str | None, typer.Option()] = None,
    station_id: Annotated[str | None, typer.Option()] = None,
    staff_id: Annotated[str | None, typer.Option()] = None,
    agency_id: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a principal and print its token (shown once; only its hash is stored)."""
    settings = get_settings()
    upgrade(settings.database_url)
    spec = NewPrincipal(role, name, company_id, station_id, staff_id, agency_id)

    async def run() -> tuple[str, str]:
        services = build_services(settings)
        try:
            async def handler(tx: Tx) -> tuple[str, str]:
                return await create_principal(tx.conn, spec, admin_principal(), tx.now)

            return await services.uow.write(handler)
        finally:
            await services.close()

    principal_id, token = asyncio.run(run())
    typer.echo(f"id: {principal_id}\ntoken: {token}")


if __name__ == "__main__":
    app()
