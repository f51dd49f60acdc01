"""The valve command relay against a real Mosquitto: a passing fill check's authorization and the lock
after a seizure or a scrapping reach the valve's commands topic, signed, once the deciding transaction
has committed; expired authorizations are not sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from cylinder_trace.app.services import Services
from cylinder_trace.app.sweeps import run_sweeps
from cylinder_trace.ingest.relay import CommandRelay
from cylinder_trace.mqtt.protocol import CommandType, command_mac_ok, commands_topic, parse_command_message
from tests.conftest import Clock
from tests.integration.broker.subscriber import Subscriber
from tests.support import factories as f
from tests.support.mosquitto import RunningMosquitto, mosquitto_fixture

from .helpers import authorize, secret_of, smart_cylinder, valve

mosquitto = mosquitto_fixture(scope="module")


async def test_authorizations_and_locks_are_published_signed(
    client: httpx.AsyncClient, services: Services, clock: Clock, mosquitto: RunningMosquitto,
) -> None:
    await f.town(client)
    first = await smart_cylinder(client, "V1")
    second = await smart_cylinder(client, "V2")
    issued = await authorize(services, first)
    other = await authorize(services, second)
    relay = CommandRelay(services.uow, mosquitto.url, client_id="ct-test-commands", protocol="5", clock=clock)
    with Subscriber(mosquitto.host, mosquitto.port, ["ct/v1/valves/+/commands"]) as valves:
        async with relay.session():  # connected, with no polling loop racing the passes below
            for _ in range(600):
                if relay.connected.is_set():
                    break
                await asyncio.sleep(0.05)
            assert relay.connected.is_set()
            clock.advance(minutes=16)  # as if the relay came to them after they expired: nothing is sent
            assert await relay.relay_once() == 0
            clock.now -= timedelta(minutes=16)
            assert await relay.relay_once() == 2
            assert await relay.relay_once() == 0  # each sent once
            got = await asyncio.to_thread(valves.wait_count, commands_topic("V1"), 1, 30)
            command = parse_command_message(got[0].topic, got[0].payload)
            assert command.cmd is CommandType.AUTHORIZE_FILL and command_mac_ok(secret_of("V1"), command)
            assert command.fields["auth_id"] == issued.auth_id and command.fields["station_id"] == "S1"
            assert command.fields["expires"] == issued.expires and command.fields["max_mass_kg"] == 14.9
            [to_second] = await asyncio.to_thread(valves.wait_count, commands_topic("V2"), 1, 30)
            assert parse_command_message(to_second.topic, to_second.payload).fields["auth_id"] == other.auth_id

            seize = {"event_id": f.eid(), "reason": "非法充装", "occurred_at": "2026-11-28T10:00:00+08:00"}
            await f.ok(await client.post(f"/api/v1/cylinders/{first}/seize", json=seize), 201)
            scrap = {"event_id": f.eid(), "reason": "超期", "occurred_at": "2026-11-28T10:05:00+08:00"}
            await f.ok(await client.post(f"/api/v1/cylinders/{second}/scrap", json=scrap), 201)
            assert await relay.relay_once() == 2
            await asyncio.to_thread(valves.wait_for, lambda rs: sum(b'"lock"' in r.payload for r in rs) >= 2, 30)
            locks = [parse_command_message(r.topic, r.payload) for r in valves.received if b'"lock"' in r.payload]
            assert sorted((c.valve_id, c.fields["reason"]) for c in locks) == [
                ("V1", "cylinder seized: 非法充装"), ("V2", "cylinder scrapped: 超期")]
            assert all(command_mac_ok(secret_of(c.valve_id), c) for c in locks)
            assert await relay.relay_once() == 0


async def test_a_cylinder_a_sweep_finds_overdue_at_a_customer_gets_its_valve_locked(
    client: httpx.AsyncClient, services: Services, clock: Clock, mosquitto: RunningMosquitto,
) -> None:
    await f.town(client)
    await valve(client, "V7")
    code = str((await f.cylinder(client, manufactured_on="2022-11-29"))["code"])  # inspection due 2026-11-29
    await f.ok(await client.post(f"/api/v1/cylinders/{code}/valve", json={
        "event_id": f.eid(), "valve_id": "V7", "occurred_at": "2026-11-27T08:00:00+08:00"}), 201)
    await f.ok(await f.fill(client, code), 201)
    await f.ok(await f.deliver(client, code), 201)
    due_soon = await run_sweeps(services.uow, clock.now)
    assert due_soon.by_rule.get("OVERDUE_AT_CUSTOMER") is None  # not overdue yet: nothing to lock
    clock.advance(days=2)
    overdue = await run_sweeps(services.uow, clock.now)
    assert overdue.by_rule["OVERDUE_AT_CUSTOMER"] == 1
    relay = CommandRelay(services.uow, mosquitto.url, client_id="ct-test-sweep-locks", protocol="5", clock=clock)
    with Subscriber(mosquitto.host, mosquitto.port, [commands_topic("V7")]) as valves:
        async with relay.session():
            assert await asyncio.to_thread(relay.connected.wait, 30)
            assert await relay.relay_once() == 2  # both sweeps handled, one lock sent
            [got] = await asyncio.to_thread(valves.wait_count, commands_topic("V7"), 1, 30)
            command = parse_command_message(got.topic, got.payload)
            assert command.cmd is CommandType.LOCK and command_mac_ok(secret_of("V7"), command)
            assert command.fields["reason"] == "cylinder overdue for inspection (2026-11-29)"
            assert await relay.relay_once() == 0


async def test_a_command_the_relay_could_not_mark_sent_goes_out_again(
    client: httpx.AsyncClient, services: Services, clock: Clock, mosquitto: RunningMosquitto,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At least once: the broker took the command, then marking it published failed (the database went
    away): the next pass sends it again, and a valve ignores an auth_id it has used."""
    await f.town(client)
    code = await smart_cylinder(client, "V4")
    issued = await authorize(services, code)
    relay = CommandRelay(services.uow, mosquitto.url, client_id="ct-test-again", protocol="5", clock=clock)
    write = services.uow.write
    failures = [OSError("the database went away after the broker took the command")]

    async def write_failing_once(handler: Any) -> Any:
        if failures:
            raise failures.pop()
        return await write(handler)

    monkeypatch.setattr(services.uow, "write", write_failing_once)
    with Subscriber(mosquitto.host, mosquitto.port, [commands_topic("V4")]) as valves:
        async with relay.session():
            assert await asyncio.to_thread(relay.connected.wait, 30)
            with pytest.raises(OSError):
                await relay.relay_once()
            assert await relay.relay_once() == 1
            got = await asyncio.to_thread(valves.wait_count, commands_topic("V4"), 2, 30)
            assert [parse_command_message(g.topic, g.payload).fields["auth_id"] for g in got] == [issued.auth_id] * 2
            assert await relay.relay_once() == 0  # marked this time
