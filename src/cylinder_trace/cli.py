"""``cylinder-trace``: serve, migrate, token create (and more as features land)."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from .app.census import CHUNK_ROWS
from .app.errors import AppError
from .app.principals import NewPrincipal, admin_principal, create_principal, revoke_principal
from .app.services import build_services
from .app.unit_of_work import Tx
from .checkpoint_cli import app as checkpoint_app
from .checkpoint_cli import verify_checkpoint
from .domain.codes import InvalidCode
from .settings import Settings, get_settings
from .store.migrate import upgrade

app = typer.Typer(help="LPG cylinder traceability (一瓶一码).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(checkpoint_app, name="checkpoint")
app.command("verify-checkpoint")(verify_checkpoint)


def _check_policy(settings: Settings) -> None:
    """Refuse to start on a policy file that cannot be used, naming the file and the field."""
    from .policy import PolicyFileError, load_policy_book

    try:
        load_policy_book(settings.policy_file)
    except PolicyFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("rules-doc")
def rules_doc(
    output: Annotated[Path | None, typer.Option(help="write here (e.g. docs/rules.md) instead of printing")] = None,
    check: Annotated[bool, typer.Option(help="only compare with --output: exit 1 when it is stale")] = False,
    policy_file: Annotated[Path | None, typer.Option(help="policy TOML (default: the shipped policy)")] = None,
    jurisdiction: Annotated[str, typer.Option(help="whose policy table")] = "CN-JL-DAGANGZI",
) -> None:
    """Write the rules the service enforces (docs/rules.md) from the rules catalogue and the policy."""
    from .domain.rules.docs import render
    from .policy import PolicyFileError, load_policy_book

    try:
        text = render(load_policy_book(policy_file), jurisdiction)
    except (PolicyFileError, LookupError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if output is None:
        typer.echo(text, nl=False)
    elif check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            typer.echo(f"{output} is stale: run cylinder-trace rules-doc --output {output}", err=True)
            raise typer.Exit(1)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


@app.command()
def migrate() -> None:
    """Bring the database (CT_DATABASE_URL) to the newest schema."""
    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="processes serving the port (PostgreSQL only: each has "
                                                     "its own appender; appends stay in one order)")] = 1,
) -> None:
    """Migrate the database to head, then serve the API, the pages and the MQTT ingestor."""
    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter("several workers need PostgreSQL (CT_DATABASE_URL): SQLite has one writer",
                                 param_hint="--workers")
    _check_policy(settings)
    upgrade(settings.database_url)
    from .api.main import create_app

    typer.echo(f"cylinder-trace on {landing_url(host, port)} (sign in there; API docs at /docs)")
    # X-Forwarded-For is believed only from CT_TRUSTED_PROXIES, by the app itself (api/client_address.py):
    # uvicorn's own handling, which believes any local peer, is off
    if workers > 1:  # each worker process builds its own app (and MQTT side) from the settings
        uvicorn.run("cylinder_trace.api.main:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level.lower(), proxy_headers=False)
        return
    api = create_app(settings)  # its startup tunes the garbage collector for a long-running server
    uvicorn.run(api, host=host, port=port, log_level=settings.log_level.lower(), proxy_headers=False)


def landing_url(host: str, port: int) -> str:
    """The address of the landing page a browser on this machine opens (any-address binds: loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/"


@app.command()
def ingest(
    client_id: Annotated[str | None, typer.Option(
        help="MQTT client id; keep it the same across restarts so the persistent session resumes; refused "
             "while another process on the database holds it (default: the lowest free "
             "<CT_MQTT_CLIENT_ID>-<host>-<n>)")] = None,
    protocol: Annotated[str | None, typer.Option(help="MQTT protocol: 5 (default) or 3.1.1")] = None,
    max_batch: Annotated[int | None, typer.Option(min=1, help="most messages per transaction [default: 2000]")] = None,
) -> None:
    """Run an MQTT ingestor alone (scale-out: with MQTT 5 several share one subscription).

    The database must be migrated (``cylinder-trace migrate`` or ``serve``). Stops on SIGTERM or SIGINT
    after committing and acknowledging the batch in hand.
    """
    from dataclasses import replace

    from .app.client_ids import ClientIdTaken
    from .ingest.ingestor import Ingestor
    from .runtime import claim_client_id, ingest_options, tune_gc_for_streaming

    settings = get_settings()
    _check_policy(settings)
    _configure_logging(settings.log_level)
    if protocol not in (None, "5", "3.1.1"):
        raise typer.BadParameter("must be 5 or 3.1.1", param_hint="--protocol")
    options = ingest_options(settings, client_id, protocol)  # type: ignore[arg-type]
    if max_batch is not None:
        options = replace(options, max_batch=max_batch)

    async def run() -> None:
        services = build_services(settings)
        try:
            claimed = await claim_client_id(services, client_id)
        except ClientIdTaken as exc:
            await services.close()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        ingestor = Ingestor(services.uow, replace(options, client_id=claimed.client_id))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, ingestor.stop)
        try:
            await ingestor.run()
        finally:
            await claimed.release()
            await services.close()
        stats = ingestor.stats
        typer.echo(f"ingest stopped: {stats.stored} stored, {stats.duplicates} duplicates, "
                   f"{stats.dead_letters} dead letters", err=True)

    tune_gc_for_streaming()
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
    expires_at: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
        help="refuse the token from then on (a date is read as its midnight in CT_TIMEZONE)")] = None,
) -> None:
    """Create a principal and print its token (shown once; only its hash is stored)."""
    from zoneinfo import ZoneInfo

    settings = get_settings()
    upgrade(settings.database_url)
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=ZoneInfo(settings.timezone))
    spec = NewPrincipal(role, name, company_id, station_id, staff_id, agency_id, expires_at)

    async def run() -> tuple[str, str]:
        services = build_services(settings)
        try:
            async def handler(tx: Tx) -> tuple[str, str]:
                return await create_principal(tx.conn, spec, admin_principal(), tx.now)

            return await services.uow.write(handler)
        finally:
            await services.close()

    try:
        principal_id, token = asyncio.run(run())
    except AppError as exc:  # an unknown company, station, staff or agency; a past expires_at
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"id: {principal_id}\ntoken: {token}")


@token_app.command("revoke")
def token_revoke(principal_id: Annotated[str, typer.Argument(help="the id printed when the token was made")]) -> None:
    """Revoke a token at once: later requests with it are refused (401)."""
    settings = get_settings()
    upgrade(settings.database_url)

    async def run() -> dict[str, Any]:
        services = build_services(settings)
        try:
            async def handler(tx: Tx) -> dict[str, Any]:
                return await revoke_principal(tx.conn, principal_id, admin_principal(), tx.now)

            return await services.uow.write(handler)
        finally:
            await services.close()

    try:
        revoked = asyncio.run(run())
    except AppError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked: {revoked['id']} ({revoked['role']} {revoked['name']}) at {revoked['revoked_at']}")



def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), transient=False)


def _read_codes_file(path: Path) -> list[str]:
    """One code per line (the first comma-separated cell); blank lines and ``#`` comments are skipped."""
    codes = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        cell = line.split(",")[0].strip()
        if cell and not cell.startswith("#") and cell.lower() != "code":
            codes.append(cell)
    return codes


@app.command()
def labels(
    codes: Annotated[list[str] | None, typer.Argument(help="codes to print (besides --company and --codes-file)")]
    = None,
    company: Annotated[str | None, typer.Option(help="every cylinder of this company (scrapped ones left out)")]
    = None,
    codes_file: Annotated[Path | None, typer.Option(help="a file of codes, one a line", exists=True,
                                                    dir_okay=False)] = None,
    pdf: Annotated[Path | None, typer.Option(help="write an A4 PDF sheet of labels here (20 a page)")] = None,
    png_dir: Annotated[Path | None, typer.Option(help="write one <code>.png per label into this folder")] = None,
) -> None:
    """Print labels for many cylinders at once: an A4 PDF sheet and/or a folder of PNGs.

    Every code must be registered; a malformed or unknown code stops the command before anything is
    written, naming the code.
    """
    from .app.labels import company_codes, labels_for
    from .labels.files import write_pdf, write_pngs
    from .labels.render import LabelSpec

    if pdf is None and png_dir is None:
        raise typer.BadParameter("give --pdf and/or --png-dir", param_hint="--pdf")
    wanted = list(codes or [])
    if codes_file is not None:
        wanted.extend(_read_codes_file(codes_file))
    if company is None and not wanted:
        raise typer.BadParameter("give codes, --codes-file or --company", param_hint="CODES")
    settings = get_settings()
    upgrade(settings.database_url)

    async def load() -> list[LabelSpec]:
        services = build_services(settings)
        try:
            async def reader(conn: Any) -> list[LabelSpec]:
                more = await company_codes(conn, company) if company is not None else []
                return await labels_for(conn, [*wanted, *more], admin_principal(), services.codes)

            return await services.uow.read(reader)
        finally:
            await services.close()

    try:
        specs = asyncio.run(load())
    except (AppError, InvalidCode) as exc:  # an unknown company or cylinder; a code that is no GRAI
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not specs:
        typer.echo("no cylinders to print", err=True)
        raise typer.Exit(1)
    with _progress() as progress:
        if pdf is not None:
            task = progress.add_task(f"PDF {pdf.name}", total=len(specs))
            write_pdf(specs, pdf, lambda n: progress.advance(task, n))
        if png_dir is not None:
            task = progress.add_task(f"PNG {png_dir}", total=len({s.code for s in specs}))
            write_pngs(specs, png_dir, lambda n: progress.advance(task, n))
    typer.echo(f"{len(specs)} labels" + (f" -> {pdf}" if pdf else "") + (f" -> {png_dir}/" if png_dir else ""))


@app.command("import")
def import_census(
    file: Annotated[Path, typer.Argument(help="the census, .csv (UTF-8) or .xlsx (first sheet)", exists=True,
                                         dir_okay=False)],
    company: Annotated[str, typer.Option(help="the company whose cylinders these are")],
    errors: Annotated[Path | None, typer.Option(help="where to write the per-row error report (CSV); default "
                                                     "<FILE>.errors.csv")] = None,
    registered_at: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
        help="when the census was taken: the registrations are dated then (default: now; a date is read in "
             "CT_TIMEZONE)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="rows per transaction")] = CHUNK_ROWS,
) -> None:
    """Import a census of existing cylinders (普查导入) from CSV or XLSX.

    The first row names the columns, in any order (case-insensitive; other
    columns are ignored):

    - code: optional, the GRAI on the cylinder (keep the column as text)
    - serial: optional, the code's serial; without a code the code is made
      from the owner's GS1 prefix, the model and the serial; with neither,
      the next free serial is used
    - model: required, YSP4.7 YSP12 YSP26.2 YSP35.5 YSP118 or YSP118-II
    - manufacturer_code: required, the manufacturer's code stamped on it
    - manufactured_on: required, YYYY-MM-DD (or a date cell)
    - owner_company_id: optional, must be --company (the default owner)
    - owner_customer_id: optional, the customer owning it (用户自有) instead
    - last_inspected_on: optional, the last passing inspection, YYYY-MM-DD
    - tare_kg: optional, tare mass in kg
    - at_customer_id: optional, the customer where a company cylinder sits
    - in_service_since: optional, the day it became the company's; default
      its day of manufacture (a census registers the existing fleet: a
      cylinder made before 2023-09-30 needs its smart valve at its first
      inspection from that day on, not at once)

    Good rows are registered (source "import"); bad rows are listed with
    row number, column and reason in the error report, and nothing of them
    is stored. Running the same file again stores nothing new: its rows are
    reported as already present. Exit status 0 when every row is in, 1 when
    some rows have errors, 2 when the file cannot be read.
    """
    from zoneinfo import ZoneInfo

    from .app.census import CensusFileError
    from .app.census import import_census as run_import

    settings = get_settings()
    _check_policy(settings)
    upgrade(settings.database_url)
    if registered_at is not None and registered_at.tzinfo is None:
        registered_at = registered_at.replace(tzinfo=ZoneInfo(settings.timezone))
    report_path = errors or file.with_name(file.name + ".errors.csv")

    async def run() -> Any:
        services = build_services(settings)
        try:
            with _progress() as progress:
                task = progress.add_task(f"import {file.name}", total=None)
                return await run_import(
                    services.uow, file, company, services.codes, occurred_at=registered_at, batch_size=batch_size,
                    progress=lambda n: progress.advance(task, n),
                    on_total=lambda total: progress.update(task, total=total))
        finally:
            await services.close()

    from .runtime import tune_gc_for_streaming

    tune_gc_for_streaming()  # thousands of rows, each a dozen short-lived objects (about a third faster)
    started = time.perf_counter()
    try:
        report = asyncio.run(run())
    except CensusFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    elapsed = time.perf_counter() - started
    if report.ignored_columns:
        typer.echo(f"ignored column(s): {', '.join(report.ignored_columns)}", err=True)
    report.write_errors_csv(report_path)
    typer.echo(f"{report.rows} rows: {report.imported} imported, {report.already_present} already present, "
               f"{report.error_rows} with errors ({len(report.errors)} errors -> {report_path}); "
               f"{elapsed:.1f} s, {report.rows / elapsed if elapsed else 0:.0f} rows/s")
    if report.errors:
        raise typer.Exit(1)


@app.command()
def rebuild(
    projection: Annotated[list[str] | None, typer.Option(
        help="a projection to rebuild (repeatable): registry, cylinders, findings, ledgers; default all")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Rebuild read models from the events, from the first event on.

    After a fix to a projection this repairs its tables. It runs in one transaction that holds the append
    lock: writes wait until it is done, readers see the old rows until it commits.
    """
    from .app.rebuild import UnknownProjection, choose
    from .app.rebuild import rebuild as run_rebuild
    from .app.services import inline_projections
    from .policy import load_policy_book

    settings = get_settings()
    _check_policy(settings)
    upgrade(settings.database_url)
    try:
        chosen = choose(inline_projections(load_policy_book(settings.policy_file), settings), projection or [])
    except UnknownProjection as exc:
        raise typer.BadParameter(str(exc), param_hint="--projection") from None

    async def run() -> Any:
        services = build_services(settings)
        try:
            if quiet:
                return await run_rebuild(services.engine, chosen)
            with _progress() as progress:
                task = progress.add_task(f"rebuild {', '.join(p.name for p in chosen)}", total=None)
                return await run_rebuild(services.engine, chosen, on_total=lambda n: progress.update(task, total=n),
                                         progress=lambda n: progress.advance(task, n))
        finally:
            await services.close()

    from .runtime import tune_gc_for_streaming

    tune_gc_for_streaming()  # a million events, each a dozen short-lived objects
    started = time.perf_counter()
    report = asyncio.run(run())
    elapsed = time.perf_counter() - started
    typer.echo(f"rebuilt {', '.join(report.projections)} from {report.events} events in {elapsed:.1f} s "
               f"({report.events / elapsed if elapsed else 0:,.0f} events/s)")


if __name__ == "__main__":
    app()
