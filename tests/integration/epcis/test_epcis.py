"""The EPCIS export validates against the official GS1 EPCIS 2.0 JSON Schema, with format checks on."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from cylinder_trace.domain.codes import parse_epc_uri, parse_grai
from tests.support import factories as f
from tests.support import gs1


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return gs1.schema_validator()


def errors(validator: jsonschema.Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_the_validator_checks_formats(validator: jsonschema.Draft7Validator) -> None:
    example = gs1.load("example-ObjectEvent-DigitalLink.jsonld")
    assert errors(validator, example) == []
    example["epcisBody"]["eventList"][0]["eventTime"] = "yesterday"
    assert errors(validator, example), "a bad date-time must fail validation"


async def test_a_cylinder_life_exports_as_valid_epcis(
    client: httpx.AsyncClient, validator: jsonschema.Draft7Validator
) -> None:
    await f.town(client)
    code = (await f.cylinder(client))["code"]
    other = (await f.cylinder(client))["code"]
    assert (await f.fill(client, code)).status_code == 201
    assert (await f.deliver(client, code)).status_code == 201
    assert (await f.deliver(client, other)).status_code == 422  # a refusal is no physical step
    response = await client.get("/api/v1/epcis/events")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/ld+json")
    doc = response.json()
    assert errors(validator, doc) == []
    events = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [(e["ct:eventType"], e["bizStep"]) for e in events] == [
        ("CylinderRegistered", "commissioning"),
        ("CylinderRegistered", "commissioning"),
        ("CylinderFilled", "urn:cylinder-trace:cbv:bizstep:filling"),
        ("CylinderDelivered", "urn:cylinder-trace:cbv:bizstep:delivering"),
    ]
    assert all(e["eventTimeZoneOffset"] == "+08:00" for e in events)
    assert "U1" not in json.dumps(doc) and "张三" not in json.dumps(doc)

    epc = events[0]["epcList"][0]
    assert parse_epc_uri(epc)[0] == parse_grai(code)
    one = (await client.get(f"/api/v1/epcis/epcs/{epc}/events")).json()
    assert errors(validator, one) == []
    assert {e["epcList"][0] for e in one["epcisBody"]["queryResults"]["resultsBody"]["eventList"]} == {epc}

    filtered = (await client.get("/api/v1/epcis/events", params={"EQ_bizStep": "commissioning"})).json()
    assert len(filtered["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2
    late = (await client.get("/api/v1/epcis/events", params={"GE_eventTime": "2026-11-28T09:30:00+08:00"})).json()
    assert [e["ct:eventType"] for e in late["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == [
        "CylinderDelivered"
    ]


async def test_paging_and_bad_epcs(client: httpx.AsyncClient) -> None:
    await f.town(client)
    for _ in range(3):
        await f.cylinder(client)
    first = await client.get("/api/v1/epcis/events", params={"perPage": 2})
    assert len(first.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2
    token = first.headers["Link"].split("nextPageToken=")[1].split(">")[0]
    rest = await client.get("/api/v1/epcis/events", params={"perPage": 2, "nextPageToken": token})
    assert len(rest.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1 and "Link" not in rest.headers
    bad = await client.get("/api/v1/epcis/events", params={"MATCH_epc": "urn:epc:id:sgtin:123.45.6"})
    assert bad.status_code == 422 and "MATCH_epc" in bad.text
    not_ours = await client.get("/api/v1/epcis/events", params={"nextPageToken": "bm90LWEtcG9zaXRpb24="})
    assert not_ours.status_code == 422 and not_ours.json()["detail"][0]["loc"] == ["query", "nextPageToken"]
