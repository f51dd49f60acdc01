"""The doors hold their shape: rules about which package may import which, read from the source with
``ast`` (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "cylinder_trace"
SOURCE = Path(__file__).resolve().parents[2] / "src" / PACKAGE

#: (package, packages it must not import, why)
RULES = [
    ("ingest", ("store",), "the MQTT door hands messages to app/; SQL lives in store/"),
    ("api", ("ingest",), "the HTTP door calls app/, never the MQTT door"),
    ("app", ("ingest", "api"), "handlers know no door"),
    ("domain", ("store", "app", "ingest", "api", "web"), "the core is pure"),
]


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = SOURCE) -> set[str]:
    """The absolute names of every module ``path`` (under the package folder ``root``) imports, relative
    imports resolved."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)  # ``from pkg import module``
    return names


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((SOURCE / package).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            for other in forbidden:
                prefix = f"{PACKAGE}.{other}"
                if name == prefix or name.startswith(prefix + "."):
                    found.append(f"{path.relative_to(SOURCE)} imports {name}")
    return found


@pytest.mark.parametrize(("package", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_a_package_imports_only_what_its_layer_may(package: str, forbidden: tuple[str, ...], why: str) -> None:
    assert (SOURCE / package).is_dir()
    assert violations(package, forbidden) == [], why


def test_the_check_sees_relative_absolute_and_nested_imports(tmp_path: Path) -> None:
    """The rule would catch each way of writing an import (a check that cannot fail proves nothing)."""
    assert f"{PACKAGE}.app.valve_commands" in imported_modules(SOURCE / "ingest" / "relay.py")
    probe = tmp_path / PACKAGE / "ingest" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from ..store import db\nimport cylinder_trace.store.tables\n"
                     "def f():\n    from ..store.valves import fitted_cylinders\n")
    names = imported_modules(probe, tmp_path / PACKAGE)
    assert {f"{PACKAGE}.store.db", f"{PACKAGE}.store.tables", f"{PACKAGE}.store.valves"} <= names
