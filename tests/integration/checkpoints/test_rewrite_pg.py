"""The point of a checkpoint: an administrator rewrites an event of a cylinder *and* its chain in
PostgreSQL, consistently, so that the stream verifies on its own — and the proof file against the
checkpoint a regulator holds fails, checked offline by ``cylinder-trace verify-checkpoint``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cylinder_trace.app.services import Services
from cylinder_trace.domain.canonical import chain_hash
from cylinder_trace.domain.checkpoints import public_key_hex, signing_key
from cylinder_trace.store.event_store import hashed_body
from cylinder_trace.store.tables import cylinders, events, streams
from tests.support import factories as f

CLI = [sys.executable, "-m", "cylinder_trace.cli"]
#: nothing listens there: the verifier must not need a database
NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:9/none"


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: the rewrite is done as an administrator of the real database would do it."""
    return pg_url


def verify_offline(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CT_DATABASE_URL": NO_DATABASE, "COLUMNS": "200"}
    return subprocess.run([*CLI, "verify-checkpoint", str(path), *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=path.parent)


async def save(client: httpx.AsyncClient, url: str, path: Path) -> Path:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    await asyncio.to_thread(path.write_bytes, response.content)
    return path


async def rewrite_chain(services: Services, stream_id: str, version: int, data: dict[str, Any]) -> str:
    """Replace one event's data and recompute the hashes of the stream from that event on; the new head."""
    async with services.engine.begin() as conn:
        rows = (await conn.execute(sa.select(events).where(events.c.stream_id == stream_id)
                                   .order_by(events.c.version))).all()
        prev = rows[version - 2].hash if version > 1 else "0" * 64
        for row in rows[version - 1:]:
            new_data = data if row.version == version else row.data
            digest = chain_hash(prev, hashed_body(row.event_id, row.stream_id, row.version, row.type, row.occurred_at,
                                                  row.recorded_at, row.actor, new_data))
            await conn.execute(sa.update(events).where(events.c.position == row.position)
                               .values(data=new_data, prev_hash=prev, hash=digest))
            prev = digest
    return prev


async def move_heads(services: Services, stream_id: str, head_hash: str) -> None:
    """The stream's head (the ``streams`` table) and the cylinders projection's moved to ``head_hash``."""
    async with services.engine.begin() as conn:
        await conn.execute(sa.update(streams).where(streams.c.stream_id == stream_id).values(head_hash=head_hash))
        await conn.execute(sa.update(cylinders).where(cylinders.c.code == stream_id.removeprefix("cylinder:"))
                           .values(head_hash=head_hash))


async def test_a_consistent_rewrite_verifies_alone_but_not_against_the_checkpoint(
    client: httpx.AsyncClient, services: Services, tmp_path: Path
) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    untouched = (await f.cylinder(client))["code"]
    for c in (code, untouched):
        assert (await f.fill(client, c)).status_code == 201
        assert (await f.deliver(client, c)).status_code == 201
    kept = await f.ok(await client.post("/api/v1/checkpoints"), 201)
    (tmp_path / "kept-checkpoint.json").write_text(json.dumps(kept), encoding="utf-8")
    public_key = public_key_hex(signing_key(services.settings.checkpoint_signing_key))
    before = await save(client, f"/api/v1/checkpoints/1/cylinders/{code}", tmp_path / "before.json")
    ok = verify_offline(before, "--public-key", public_key, "--checkpoint", str(tmp_path / "kept-checkpoint.json"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"OK: cylinder:{code}: 3 events, head version 3")

    fill = (await f.ok(await client.get(f"/api/v1/cylinders/{code}/history")))["events"][1]
    assert fill["type"] == "CylinderFilled" and fill["data"]["net_mass_kg"] == 14.5
    new_head = await rewrite_chain(services, f"cylinder:{code}", 2, {**fill["data"], "net_mass_kg": 9.0})
    # the events rewritten, the heads not yet: the export's leaf (from the heads) is not the history's head
    half = await save(client, f"/api/v1/checkpoints/1/cylinders/{code}", tmp_path / "half.json")
    failed = verify_offline(half, "--public-key", public_key)
    assert failed.returncode == 1 and "is not the head of its history" in failed.stdout, failed.stdout

    await move_heads(services, f"cylinder:{code}", new_head)
    verify = await f.ok(await client.get(f"/api/v1/cylinders/{code}/verify"))
    assert verify["valid"] is True and verify["count"] == 3  # the stream verifies on its own
    after = await save(client, f"/api/v1/checkpoints/1/cylinders/{code}", tmp_path / "after.json")
    assert json.loads(after.read_text(encoding="utf-8"))["events"][1]["data"]["net_mass_kg"] == 9.0
    failed = verify_offline(after, "--public-key", public_key)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"FAILED: the inclusion proof of cylinder:{code} at version 3" in failed.stdout
    assert "not to the signed root" in failed.stdout and kept["statement"]["root"] in failed.stdout
    # the file kept from before the rewrite still proves what the history was
    assert verify_offline(before, "--public-key", public_key).returncode == 0
    # the tree rebuilt from the rewritten database is not the signed one, so a fresh proof of another
    # cylinder fails too (docs/checkpoints.md): it shows the database changed, not which stream
    other = await save(client, f"/api/v1/checkpoints/1/cylinders/{untouched}", tmp_path / "other.json")
    assert "not to the signed root" in verify_offline(other, "--public-key", public_key).stdout


async def test_the_verifier_names_a_broken_chain_a_foreign_key_and_an_unreadable_file(
    client: httpx.AsyncClient, services: Services, tmp_path: Path
) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    await f.ok(await client.post("/api/v1/checkpoints"), 201)
    path = await save(client, f"/api/v1/checkpoints/1/cylinders/{code}", tmp_path / "proof.json")
    doc = json.loads(path.read_text(encoding="utf-8"))

    own_key = verify_offline(path)
    assert own_key.returncode == 0 and "--public-key" in own_key.stderr
    other_key = "ab" * 32
    foreign = verify_offline(path, "--public-key", other_key)
    assert foreign.returncode == 1 and "signature of checkpoint 1 does not verify" in foreign.stdout

    doc["events"][1]["data"]["net_mass_kg"] = 9.0  # edited without fixing the chain
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    broken = verify_offline(edited)
    assert broken.returncode == 1 and "hash chain is broken at version 2" in broken.stdout

    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    assert verify_offline(tmp_path / "junk.json").returncode == 2
    (tmp_path / "other.json").write_text('{"format": "something"}', encoding="utf-8")
    other = verify_offline(tmp_path / "other.json")
    assert other.returncode == 2 and "not a checkpoint proof file" in other.stderr
    assert verify_offline(path, "--public-key", "xyz").returncode == 2


async def test_the_cli_takes_a_checkpoint_and_exports_a_proof_file(
    client: httpx.AsyncClient, services: Services, db_url: str, tmp_path: Path
) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    env = {**os.environ, "CT_DATABASE_URL": db_url, "CT_EMBEDDED_BROKER": "false", "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "checkpoint", *args], env=env, capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)

    taken = cli("take")
    assert taken.returncode == 0, taken.stderr
    checkpoint = json.loads(taken.stdout)
    assert checkpoint["sequence"] == 1 and checkpoint["public_key"] == public_key_hex(
        signing_key(services.settings.checkpoint_signing_key))
    exported = cli("export", code, "--output", str(tmp_path / "proof.json"))
    assert exported.returncode == 0, exported.stderr
    assert f"1 events of cylinder:{code} with their proof against checkpoint 1" in exported.stderr
    assert verify_offline(tmp_path / "proof.json", "--public-key", checkpoint["public_key"]).returncode == 0
    unknown = cli("export", code, "--checkpoint", "2")
    assert unknown.returncode == 1 and "unknown checkpoint '2'" in unknown.stderr
