"""``cylinder-trace``: serve, migrate, token create (and more as features land)."""

from __future__ import annotations

import asyncio
import signal
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


@app.command()
def ingest(
    client_id: Annotated[str | None, typer.Option(
        help="MQTT client id; keep it the same across restarts so the persistent session resumes "
             "(default: <CT_MQTT_CLIENT_ID>-ingest-<host>)")] = None,
    protocol: Annotated[str | None, typer.Option(help="MQTT protocol: 5 (default) or 3.1.1")] = None,
    max_batch: Annotated[int, typer.Option(help="most messages per transaction")] = 500,
) -> None:
    """Run an MQTT ingestor alone (scale-out: with MQTT 5 several share one subscription).

    The database must be migrated (``cylinder-trace migrate`` or ``serve``). Stops on SIGTERM or SIGINT
    after committing and acknowledging the batch in hand.
    """
    from dataclasses import replace

    from .ingest.ingestor import Ingestor
    from .runtime import ingest_options

    settings = get_settings()
    _configure_logging(settings.log_level)
    if protocol not in (None, "5", "3.1.1"):
        raise typer.BadParameter("must be 5 or 3.1.1", param_hint="--protocol")
    options = replace(ingest_options(settings, client_id, protocol), max_batch=max_batch)  # type: ignore[arg-type]

    async def run() -> None:
        services = build_services(settings)
        ingestor = Ingestor(services.uow, options)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, ingestor.stop)
        try:
            await ingestor.run()
        finally:
            await services.close()
        stats = ingestor.stats
        typer.echo(f"ingest stopped: {stats.stored} stored, {stats.duplicates} duplicates, "
                   f"{stats.dead_letters} dead letters", err=True)

    asyncio.run(run())


def _configure_logging(level: str) -> None:
    import logging

    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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
