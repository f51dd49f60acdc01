"""What a caller may see of a customer: ID numbers masked except to admins and regulators."""

from __future__ import annotations

from typing import Any


def mask_id_number(id_number: str) -> str:
    """Keep the first 4 and last 4 characters: ``220102199001011234`` → ``2201**********1234``."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def masked_customer(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "id_number": mask_id_number(str(entry.get("id_number", "")))}


def masked_personal_data(value: Any) -> Any:
    """``value`` (event data, a finding's detail: JSON values) with every ``id_number`` masked, at any
    depth: a customer's, or that of the person who handed a cylinder in."""
    if isinstance(value, dict):
        return {k: mask_id_number(str(v)) if k == "id_number" and v is not None else masked_personal_data(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked_personal_data(v) for v in value]
    return value
