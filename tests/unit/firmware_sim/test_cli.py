from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from firmware_sim.cli import ScenarioName, app
from firmware_sim.registry import derive_secret, valve_ids
from firmware_sim.scenarios import SCENARIOS

runner = CliRunner()


def test_secrets_are_sha256_of_seed_and_valve_id() -> None:
    assert derive_secret("s", "V0000001") == hashlib.sha256(b"sV0000001").digest()
    assert valve_ids(2, "L") == ["L0000001", "L0000002"]


def test_registry_prints_the_valves_and_their_secrets() -> None:
    result = runner.invoke(app, ["registry", "--seed", "s", "--count", "2", "--valve-id", "X-1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"valve_id": "X-1", "secret": derive_secret("s", "X-1").hex()},
        {"valve_id": "V0000001", "secret": derive_secret("s", "V0000001").hex()},
        {"valve_id": "V0000002", "secret": derive_secret("s", "V0000002").hex()},
    ]


def test_registry_needs_some_valves() -> None:
    assert runner.invoke(app, ["registry"]).exit_code == 1


def test_every_scenario_is_on_the_command_line() -> None:
    assert [s.value for s in ScenarioName] == list(SCENARIOS)
    listed = runner.invoke(app, ["scenarios"]).stdout
    assert all(name in listed for name in SCENARIOS)


def test_an_unreachable_broker_is_a_clean_failure(tmp_path: object) -> None:
    result = runner.invoke(
        app, ["run", "tamper", "--url", "mqtt://127.0.0.1:1", "--state-dir", str(tmp_path), "--json"]
    )
    assert result.exit_code == 1
    assert "cannot reach 127.0.0.1:1" in result.output
