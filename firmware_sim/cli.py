"""``valve-sim``: run a valve scenario, generate load, or print the valve registry."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from firmware_sim.link import LinkError, MqttProtocol
from firmware_sim.load import LoadOptions, run_load
from firmware_sim.registry import DEFAULT_SEED, registry, valve_ids
from firmware_sim.scenarios import SCENARIOS, ScenarioFailed, ScenarioOptions, run_scenario

app = typer.Typer(
    help="Smart angle valve simulator: talks to the service only over MQTT (PROTOCOL.md).",
    no_args_is_help=True,
    add_completion=False,
)


class ScenarioName(StrEnum):
    """The keys of ``SCENARIOS``, spelled out for the command line."""

    HOUSEHOLD_WEEK = "household-week"
    AUTHORIZED_FILL = "authorized-fill"
    ILLEGAL_DECANT = "illegal-decant"
    TAMPER = "tamper"
    LEAK = "leak"
    OFFLINE_DAY = "offline-day"
    DUPLICATE_STORM = "duplicate-storm"
    CLOCK_SKEW = "clock-skew"


Url = Annotated[str, typer.Option("--url", help="Broker, mqtt://host:port.")]
Protocol = Annotated[MqttProtocol, typer.Option("--protocol", help="MQTT version.")]
Seed = Annotated[str, typer.Option("--seed", help="Secrets are sha256(seed + valve_id).")]
StateDir = Annotated[Path, typer.Option("--state-dir", help="Where valves keep seq and state between runs.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def _err(text: str) -> None:
    typer.echo(text, err=True)


@app.command("run")
def run(
    scenario: Annotated[ScenarioName, typer.Argument(help="What the valve does; see `valve-sim scenarios`.")],
    valve_id: Annotated[str, typer.Option("--valve-id")] = "V0000001",
    url: Url = "mqtt://127.0.0.1:18830",
    protocol: Protocol = MqttProtocol.V311,
    seed: Seed = DEFAULT_SEED,
    state_dir: StateDir = Path("var/valves"),
    timeout: Annotated[float, typer.Option(help="authorized-fill: seconds to wait for the command.")] = 60.0,
    mass_kg: Annotated[float, typer.Option(help="authorized-fill: mass offered; illegal-decant: forced in.")] = 12.5,
    repeats: Annotated[int, typer.Option(help="duplicate-storm: identical re-publishes.")] = 50,
    skew_seconds: Annotated[float, typer.Option(help="clock-skew: valve clock error.")] = -3 * 86400.0,
    hold: Annotated[bool, typer.Option(help="Stay connected afterwards until SIGINT/SIGTERM.")] = False,
    as_json: AsJson = False,
) -> None:
    """Run one scenario as one valve."""
    options = ScenarioOptions(
        valve_id=valve_id,
        seed=seed,
        url=url,
        protocol=protocol,
        state_dir=state_dir,
        timeout_s=timeout,
        mass_kg=mass_kg,
        repeats=repeats,
        skew=timedelta(seconds=skew_seconds),
    )
    stop = _stop_flag()
    try:
        result = run_scenario(scenario.value, options, log=_err, hold=(lambda: not stop()) if hold else None)
    except (ScenarioFailed, LinkError) as exc:
        _err(f"failed: {exc}")
        raise typer.Exit(1) from None
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _err(json.dumps(summary, ensure_ascii=False, indent=2))


@app.command("scenarios")
def scenarios() -> None:
    """List the scenarios."""
    for name, scenario in SCENARIOS.items():
        typer.echo(f"{name:16} {scenario.description.splitlines()[0]}")


@app.command("load")
def load(
    valves: Annotated[int, typer.Option(help="Number of simulated valves.")] = 100,
    rate: Annotated[float, typer.Option(help="Target messages per second, all valves together.")] = 1000.0,
    duration: Annotated[float, typer.Option(help="Seconds of publishing (messages = rate x duration).")] = 5.0,
    clients: Annotated[int, typer.Option(help="MQTT connections carrying the valves' events.")] = 4,
    prefix: Annotated[str, typer.Option(help="Valve ids are <prefix>0000001, ...")] = "L",
    url: Url = "mqtt://127.0.0.1:18830",
    protocol: Protocol = MqttProtocol.V311,
    seed: Seed = DEFAULT_SEED,
    state_dir: StateDir = Path("var/valves"),
    drain_timeout: Annotated[float, typer.Option(help="Seconds to wait for outstanding PUBACKs.")] = 60.0,
    as_json: AsJson = False,
) -> None:
    """Publish heartbeats of many valves at QoS 1; report sent, broker-acknowledged and the rate."""
    options = LoadOptions(
        url=url,
        protocol=protocol,
        valves=valves,
        rate=rate,
        duration_s=duration,
        clients=clients,
        seed=seed,
        prefix=prefix,
        state_dir=state_dir,
        drain_timeout_s=drain_timeout,
    )
    try:
        result = run_load(options, log=_err)
    except (ValueError, RuntimeError, OSError) as exc:
        _err(f"failed: {exc}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
    else:
        typer.echo(
            f"sent {result.sent}  acked {result.acked}  failed {result.failed}  "
            f"publish {result.publish_s:.2f}s ({result.send_rate:.0f} msg/s)  "
            f"acked in {result.total_s:.2f}s ({result.ack_rate:.0f} msg/s)"
        )
    if result.acked != result.sent or result.failed:
        raise typer.Exit(2)


@app.command("registry")
def print_registry(
    seed: Seed = DEFAULT_SEED,
    valve_id: Annotated[list[str] | None, typer.Option("--valve-id", help="A valve id (repeatable).")] = None,
    count: Annotated[int, typer.Option(help="Or this many ids <prefix>0000001...")] = 0,
    prefix: Annotated[str, typer.Option()] = "V",
) -> None:
    """Print the valves and their secrets as JSON, for the service's valve registry."""
    ids = list(valve_id or []) + (valve_ids(count, prefix) if count else [])
    if not ids:
        _err("give --valve-id and/or --count")
        raise typer.Exit(1)
    typer.echo(json.dumps(registry(seed, ids), indent=2))


def _stop_flag() -> Callable[[], bool]:
    stopped = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        stopped = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return lambda: stopped
