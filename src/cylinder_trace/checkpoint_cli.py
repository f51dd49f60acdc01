"""``cylinder-trace checkpoint take|export|keygen`` and ``cylinder-trace verify-checkpoint`` (offline)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Signed checkpoints over every stream's head (docs/checkpoints.md).", no_args_is_help=True)


def _write_json(doc: Any, output: Path | None) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@app.command()
def take() -> None:
    """Take a checkpoint now and print it (serve also takes one a day: CT_CHECKPOINT_INTERVAL_S)."""
    from .app.checkpoints import take_checkpoint
    from .app.services import build_services
    from .settings import get_settings
    from .store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)

    async def run() -> dict[str, Any]:
        services = build_services(settings)
        try:
            return await take_checkpoint(services.uow, settings, "admin:cli")
        finally:
            await services.close()

    _write_json(asyncio.run(run()), None)


@app.command()
def export(
    code: Annotated[str, typer.Argument(help="the cylinder's code (GRAI)")],
    checkpoint: Annotated[int | None, typer.Option(min=1, help="the checkpoint's sequence (default: the newest)")]
    = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the file here (default: stdout)",
                                                dir_okay=False)] = None,
) -> None:
    """Export a cylinder's history with its inclusion proof against a checkpoint: one JSON file to keep."""
    from .app.checkpoints import export_proof
    from .app.errors import AppError
    from .app.principals import admin_principal
    from .app.services import build_services
    from .domain.codes import InvalidCode
    from .settings import get_settings

    settings = get_settings()

    async def run() -> dict[str, Any]:
        services = build_services(settings)
        try:
            async def reader(conn: Any) -> dict[str, Any]:
                return await export_proof(conn, code, checkpoint, admin_principal())

            return await services.uow.read(reader)
        finally:
            await services.close()

    try:
        doc = asyncio.run(run())
    except (AppError, InvalidCode) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _write_json(doc, output)
    if output is not None:
        typer.echo(f"{len(doc['events'])} events of {doc['stream_id']} with their proof against checkpoint "
                   f"{doc['checkpoint']['statement']['sequence']} -> {output}", err=True)


@app.command()
def keygen() -> None:
    """Make a new Ed25519 signing key: set CT_CHECKPOINT_SIGNING_KEY to the private key, publish the public one."""
    from .domain.checkpoints import new_signing_key

    private, public = new_signing_key()
    typer.echo(f"CT_CHECKPOINT_SIGNING_KEY={private}\npublic key: {public}")


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"error: cannot read {what} {path}: {exc}", err=True)
        raise typer.Exit(2) from None


def verify_checkpoint(
    file: Annotated[Path, typer.Argument(help="a proof file (checkpoint export, or GET "
                                              "/api/v1/checkpoints/{n}/cylinders/{code})", dir_okay=False)],
    public_key: Annotated[str | None, typer.Option(
        help="the checkpoint public key you trust: 64 hex digits, or a PEM file (default: the key inside the "
             "file, which proves only that the file is consistent)")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="a checkpoint you kept (the JSON the API served): the file's must be the same one",
        dir_okay=False)] = None,
) -> None:
    """Check OFFLINE that a cylinder's history is included unchanged in a signed checkpoint.

    Recomputes the history's hash chain, checks that its head is the leaf the proof is for, that the
    proof reaches the signed root and that the signature holds. Needs no database and no network.
    Exit status 0 when all hold, 1 when one fails (each failure is named), 2 when a file cannot be read.
    """
    from .domain.checkpoints import ProofFileError, parse_public_key, verify_proof_document

    doc = _read_json(file, "the proof file")
    kept = _read_json(checkpoint, "the kept checkpoint") if checkpoint is not None else None
    trusted = None
    if public_key is not None:
        try:
            key_file = Path(public_key)
            trusted = parse_public_key(key_file.read_text(encoding="ascii") if key_file.is_file() else public_key)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: --public-key: {exc}", err=True)
            raise typer.Exit(2) from None
    try:
        verdict = verify_proof_document(doc, trusted, kept)
    except ProofFileError as exc:
        typer.echo(f"error: {file} is not a checkpoint proof file: {exc}", err=True)
        raise typer.Exit(2) from None
    for note in verdict.notes:
        typer.echo(f"note: {note}", err=True)
    if not verdict.ok:
        for problem in verdict.problems:
            typer.echo(f"FAILED: {problem}")
        raise typer.Exit(1)
    body = doc["checkpoint"]["statement"]
    head = verdict.head
    assert head is not None
    typer.echo(f"OK: {head.stream_id}: {len(doc['events'])} events, head version {head.version} hash {head.hash}, "
               f"included in checkpoint {body['sequence']} (taken {body['taken_at']}, {body['tree_size']} streams, "
               f"root {body['root']}), signature valid")

