"""What the tests run is what ships: the private broker's config is deploy/mosquitto.conf, changed
only where a test must (port, state dir, log, user)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.mosquitto import DEPLOY_CONF, MosquittoError, RunningMosquitto, mosquitto_fixture, render_config

pytestmark = pytest.mark.broker

mosquitto = mosquitto_fixture(scope="module")


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_running_config_differs_from_the_shipped_one_only_where_it_must(mosquitto: RunningMosquitto) -> None:
    shipped = directives(DEPLOY_CONF.read_text())
    running = directives(mosquitto.conf_path.read_text())
    changed = {line.split()[0] for line in set(running) ^ set(shipped)}
    assert changed == {"listener", "persistence_location", "log_dest", "user"}
    for setting in ("set_tcp_nodelay true", "max_inflight_messages 10000", "persistence true"):
        assert setting in shipped and setting in running
    assert f"listener {mosquitto.port} 127.0.0.1" in running


def test_a_config_without_a_directive_to_replace_is_refused(tmp_path: Path) -> None:
    without_listener = "\n".join(
        line for line in DEPLOY_CONF.read_text().splitlines() if not line.startswith("listener")
    )
    with pytest.raises(MosquittoError, match="listener"):
        render_config(without_listener, host="127.0.0.1", port=1, data_dir=tmp_path, log_path=tmp_path / "log")


def test_a_missing_mosquitto_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.support.mosquitto as helper

    monkeypatch.setenv(helper.MOSQUITTO_BIN_ENV, "/nonexistent/mosquitto")
    monkeypatch.setattr(helper.shutil, "which", lambda name: None)
    monkeypatch.setattr(helper.os, "access", lambda path, mode: False)
    with pytest.raises(MosquittoError, match="no mosquitto binary"), helper.running_mosquitto():
        pass
