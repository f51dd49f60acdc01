"""The desk session's pure parts: where a browser may be sent, and the per-session form token."""

from __future__ import annotations

from cylinder_trace.web.session import csrf_token, safe_next


def test_only_local_paths_are_followed() -> None:
    assert safe_next("/desk/findings?status=open") == "/desk/findings?status=open"
    for foreign in (None, "", "desk", "https://evil.example/", "//evil.example", "/\\evil.example", "/a\\b"):
        assert safe_next(foreign) == "/desk", foreign


def test_the_form_token_depends_on_the_session_and_the_token() -> None:
    one = csrf_token("n1", "ct_token")
    assert one == csrf_token("n1", "ct_token") and len(one) == 64
    assert one != csrf_token("n2", "ct_token") and one != csrf_token("n1", "ct_other")
    assert "ct_token" not in one
