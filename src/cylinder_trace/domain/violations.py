"""What a refusal says: which rule, how severe, in Chinese and English, and about whom."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["block", "high", "warn"]


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    severity: Severity
    message_zh: str
    message_en: str
    subject: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "subject": self.subject,
            "detail": self.detail,
        }


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "block"]
