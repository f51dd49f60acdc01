"""What a caller may see of personal data: ID numbers (a customer's, a hand-in person's) in full only to
admins and regulators, masked to everyone else — in registry answers and in history event data alike.

Stored values are sealed (``app/personal_data.py``). A history event whose data held a sealed value is
shown with that value opened (or masked) and lists the stored value under ``sealed`` (its path in
``data`` → the stored text), so anyone holding the history can put it back and recompute the hash chain.
"""

from __future__ import annotations

from typing import Any, Final

from ..app.personal_data import PersonalDataCipher, is_sealed

#: keys whose string values are personal data wherever they appear in an answer
PERSONAL_KEYS: Final = frozenset({"id_number"})


def mask_id_number(id_number: str) -> str:
    """Keep the first 4 and last 4 characters: ``220102199001011234`` → ``2201**********1234``."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


class PersonalView:
    """Shows personal data as one caller may see it; notes whether any was shown in full."""

    def __init__(self, cipher: PersonalDataCipher, unmasked: bool) -> None:
        self.cipher = cipher
        self.unmasked = unmasked
        self.shown_in_full = False

    def value(self, stored: str) -> str:
        plain = self.cipher.open(stored)
        if self.unmasked:
            self.shown_in_full = True
            return plain
        return mask_id_number(plain)

    def data(self, value: Any, sealed: dict[str, str] | None = None, path: str = "") -> Any:
        """``value`` with every personal field shown as the caller may see it; the stored text of each
        sealed one goes into ``sealed`` under its dotted path."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                if key in PERSONAL_KEYS and isinstance(item, str) and item:
                    if sealed is not None and is_sealed(item):
                        sealed[where] = item
                    out[key] = self.value(item)
                else:
                    out[key] = self.data(item, sealed, where)
            return out
        if isinstance(value, list):
            return [self.data(item, sealed, f"{path}.{index}") for index, item in enumerate(value)]
        return value

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A history event: its data shown as the caller may see it, with the sealed values it stores."""
        sealed: dict[str, str] = {}
        shown = self.data(event["data"], sealed)
        if shown == event["data"] and not sealed:
            return event
        out = {**event, "data": shown}
        if sealed:
            out["sealed"] = sealed
        return out
