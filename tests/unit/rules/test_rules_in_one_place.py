"""Every rule is decided in ``domain/`` and nowhere else: no module outside it makes a violation, and
every rule of the catalogue is made somewhere inside it. Event types are defined in ``domain/`` too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import cylinder_trace
from cylinder_trace.domain.rules.catalogue import CATALOGUE

PACKAGE = Path(cylinder_trace.__file__).parent
DOMAIN = PACKAGE / "domain"


def _modules(inside_domain: bool) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(DOMAIN) == inside_domain:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _is_rule(node: ast.expr) -> str | None:
    """The rule code a ``RULE`` or ``catalogue.RULE`` expression names, if it names one."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    return name if name in CATALOGUE else None


def _made(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Rule codes a module makes a violation of (``RULE.at(…)``, ``RULE.violation(…)``, ``Violation(…)``)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("at", "violation"):
            code = _is_rule(func.value)
            if code is not None:
                yield code, node.lineno
        if isinstance(func, ast.Name) and func.id == "Violation":
            yield "Violation", node.lineno


def test_no_module_outside_the_domain_makes_a_violation() -> None:
    outside = [f"{path.relative_to(PACKAGE)}:{line} {code}" for path, tree in _modules(inside_domain=False)
               for code, line in _made(tree)]
    assert outside == []


def test_every_rule_of_the_catalogue_is_made_in_the_domain() -> None:
    made = {code for _, tree in _modules(inside_domain=True) for code, _ in _made(tree)}
    assert sorted(set(CATALOGUE) - made) == []


def test_event_types_are_defined_in_the_domain() -> None:
    """A module-level ``NAME = "SomethingHappened"`` outside ``domain/`` would be an event type defined at a door."""
    found = []
    for path, tree in _modules(inside_domain=False):
        for node in tree.body:
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
            value = node.value if isinstance(node, ast.AnnAssign | ast.Assign) else None
            if (isinstance(target, ast.Name) and target.id.isupper() and isinstance(value, ast.Constant)
                    and isinstance(value.value, str) and value.value[:1].isupper() and value.value.isalpha()
                    and any(ch.isupper() for ch in value.value[1:])):
                found.append(f"{path.relative_to(PACKAGE)}: {target.id} = {value.value!r}")
    assert found == []


def test_routes_look_no_policy_up_and_the_domain_reads_no_file() -> None:
    doors = (PACKAGE / "api", PACKAGE / "web")
    lookups = [f"{path.relative_to(PACKAGE)}:{node.lineno}" for path, tree in _modules(inside_domain=False)
               if any(path.is_relative_to(door) for door in doors) for node in ast.walk(tree)
               if (isinstance(node, ast.Attribute) and node.attr == "policy_book")
               or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "policy")]
    assert lookups == []
    io = [f"{path.relative_to(PACKAGE)}:{node.lineno}" for path, tree in _modules(inside_domain=True)
          for node in ast.walk(tree)
          if (isinstance(node, ast.ImportFrom) and node.module in ("pathlib", "importlib", "importlib.resources"))
          or (isinstance(node, ast.Import) and any(a.name in ("pathlib", "importlib") for a in node.names))
          or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open")
          or (isinstance(node, ast.Attribute) and node.attr in ("read_text", "read_bytes"))]
    assert io == []
