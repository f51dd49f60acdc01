"""Policy data files: the town's defaults shipped with the service, or the operator's own
(``CT_POLICY_FILE``). Reading the file happens here, at the edge; ``domain/policy.py`` parses the text.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..domain.policy import PolicyBook, PolicyError, parse_policy_book


class PolicyFileError(ValueError):
    """The policy file cannot be used: the service refuses to start, naming the file and the field."""


def default_policy_text() -> str:
    return resources.files(__name__).joinpath("default.toml").read_text(encoding="utf-8")


def load_policy_book(path: Path | None = None) -> PolicyBook:
    """The operator's file when given, else the defaults shipped with the package."""
    where = str(path) if path is not None else "the shipped default policy"
    try:
        text = path.read_text(encoding="utf-8") if path is not None else default_policy_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"policy file {where}: cannot be read ({exc})") from None
    try:
        return parse_policy_book(text)
    except PolicyError as exc:
        raise PolicyFileError(f"policy file {where}: {exc}") from None
