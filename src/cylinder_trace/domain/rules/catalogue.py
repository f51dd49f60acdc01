"""Rule codes with their severity and messages (DOMAIN.md, Rules catalogue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..violations import Severity, Violation


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    zh: str
    en: str

    def violation(self, subject: str, **detail: Any) -> Violation:
        return Violation(self.code, self.severity, self.zh.format(**detail), self.en.format(**detail),
                         subject, dict(detail))


FILL_UNKNOWN_CODE: Final = Rule(
    "FILL_UNKNOWN_CODE", "block",
    "黑气瓶：气瓶码 {code} 未登记，禁止充装", "unregistered cylinder code {code} (black cylinder): do not fill",
)
SCRAPPED_CYLINDER_REAPPEARED: Final = Rule(
    "SCRAPPED_CYLINDER_REAPPEARED", "high",
    "已报废气瓶 {code} 再次出现", "scrapped cylinder {code} has reappeared",
)
