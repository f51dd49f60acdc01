"""``docs/rules.md`` is generated from the catalogue and the shipped policy; this fails when it is stale
(run ``cylinder-trace rules-doc --output docs/rules.md``)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cylinder_trace.cli import app
from cylinder_trace.domain.rules.catalogue import CATALOGUE, SECTIONS
from cylinder_trace.domain.rules.docs import render
from cylinder_trace.policy import default_policy_text, load_policy_book

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "rules.md"
JURISDICTION = "CN-JL-DAGANGZI"


def test_the_rules_document_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(load_policy_book(), JURISDICTION), (
        "docs/rules.md is stale: run `cylinder-trace rules-doc --output docs/rules.md`")


def test_every_rule_is_documented_with_its_section_seed_clause_and_subject() -> None:
    text = render(load_policy_book(), JURISDICTION)
    for rule in CATALOGUE.values():
        assert rule.section in SECTIONS and rule.seed and rule.about and rule.when, rule.code
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{rule.code}` |")]
        assert rule.zh in row and rule.en in row and rule.seed in row


def test_the_document_follows_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text().replace("inspection_interval_years = 4", "inspection_interval_years = 5"),
                    encoding="utf-8")
    assert "every 4 years" in render(load_policy_book(), JURISDICTION)
    assert "every 5 years" in render(load_policy_book(path), JURISDICTION)


def test_the_command_writes_and_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "rules.md"
    assert runner.invoke(app, ["rules-doc", "--output", str(out), "--check"]).exit_code == 1
    assert runner.invoke(app, ["rules-doc", "--output", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    assert runner.invoke(app, ["rules-doc", "--output", str(out), "--check"]).exit_code == 0


def test_an_unknown_jurisdiction_is_refused() -> None:
    assert CliRunner().invoke(app, ["rules-doc", "--jurisdiction", "CN-XX-NOWHERE"]).exit_code == 2
