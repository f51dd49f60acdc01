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
