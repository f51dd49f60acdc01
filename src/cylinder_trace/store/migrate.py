"""Bring a database to the newest schema with the Alembic migrations shipped beside the code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(url: str) -> Config:
    ini = _ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """``alembic upgrade heads`` for ``url`` (runs the async engine in its own event loop)."""
    command.upgrade(alembic_config(url), revision)
