"""The GS1 EPCIS 2.0 files the tests check the export against, shipped in ``tests/support/epcis/``
(see its ``NOTICE.md`` for where they come from and their terms)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

GS1_DIR = Path(__file__).resolve().parent / "epcis"


def load(name: str) -> Any:
    return json.loads((GS1_DIR / name).read_text(encoding="utf-8"))


def schema_validator() -> jsonschema.Draft7Validator:
    """The official EPCIS 2.0 JSON Schema, with format checks on (a bad date-time fails)."""
    return jsonschema.Draft7Validator(load("EPCIS-JSON-Schema.json"),
                                      format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def context_terms() -> dict[str, Any]:
    """The terms of the official EPCIS 2.0 JSON-LD context."""
    terms: dict[str, Any] = load("epcis-context.jsonld")["@context"]
    return terms
