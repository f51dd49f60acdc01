"""Policy files for tests: the shipped defaults, edited, and more tables with later effective dates."""

from __future__ import annotations

from pathlib import Path

from cylinder_trace.policy import default_policy_text


def edited(**values: object) -> str:
    """The shipped policy with top-level numbers replaced (``inspection_interval_years=5``)."""
    text = default_policy_text()
    for name, value in values.items():
        lines = text.splitlines()
        hits = [i for i, line in enumerate(lines) if line.split("=")[0].strip() == name and "=" in line]
        assert len(hits) == 1, f"{name} is not a single line of the default policy"
        lines[hits[0]] = f"{name} = {_toml(value)}"
        text = "\n".join(lines) + "\n"
    return text


def later_table(effective_from: str, **values: object) -> str:
    """The shipped table again from ``effective_from``, with some values changed."""
    return edited(effective_from=effective_from, **values).split("[[policy]]", 1)[1].join(["[[policy]]", ""])


def write(folder: Path, *tables: str) -> Path:
    path = folder / "policy.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


def _toml(value: object) -> str:
    if isinstance(value, str) and not value[:4].isdigit():
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)
