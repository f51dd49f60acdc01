"""Signing in to the desk with a principal's token, and CSRF protection of its forms.

* **The session cookie** holds ``<nonce>.<token>`` (the token base64url-encoded): HTTP-only (no script
  reads it), ``SameSite=Lax`` (no other site's form or script request carries it; a link from elsewhere
  still opens a page), ``Path=/``, twelve hours. It is ``Secure`` and named ``__Host-ct_session`` when
  the request came over https or the service runs in production (behind a TLS proxy); over plain
  ``http://127.0.0.1`` in development a browser would drop a ``Secure`` cookie, so there it is
  ``ct_session`` without the flag. Every request authenticates the token again exactly as the API does
  (``api.deps.principal_of``), so a revoked or expired token ends the session as it ends the API's use.
* **CSRF**: every form carries a token derived from the session, ``HMAC-SHA256(key=SHA-256(token),
  nonce)``, checked on every POST. A new sign-in gets a new nonce, so a new CSRF token. The sign-in form
  itself is protected by a double-submit token (a short-lived ``SameSite=Strict`` cookie and a field).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request, Response

from ..api.deps import Svc, principal_of
from ..app.errors import Forbidden
from ..app.principals import Principal
from ..app.services import Services
from ..settings import Settings
from .i18n import DEFAULT_LANG, LANGS, Lang

SESSION_COOKIE: Final = "ct_session"
SECURE_SESSION_COOKIE: Final = "__Host-ct_session"
SIGNIN_COOKIE: Final = "ct_signin"
LANG_COOKIE: Final = "ct_lang"
SESSION_MAX_AGE_S: Final = 12 * 3600
SIGNIN_MAX_AGE_S: Final = 3600
HOME: Final = "/desk"


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    #: the token every form of this session carries
    csrf: str


class SignInRequired(Exception):
    """A page for signed-in principals was asked for without a valid session."""


def secure_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.environment == "production"


def _cookie_name(secure: bool) -> str:
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


def _encode(token: str) -> str:
    return base64.urlsafe_b64encode(token.encode("utf-8")).decode("ascii").rstrip("=")


def _decode(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def csrf_token(nonce: str, token: str) -> str:
    key = hashlib.sha256(token.encode("utf-8")).digest()
    return hmac.new(key, f"ct-desk-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


async def current_session(request: Request, services: Services) -> Session | None:
    """The session the request's cookie holds, if its token is valid now (cached on the request)."""
    if hasattr(request.state, "session"):
        cached: Session | None = request.state.session
        return cached
    request.state.session = None
    raw = request.cookies.get(_cookie_name(secure_cookies(request, services.settings)), "")
    nonce, _, encoded = raw.partition(".")
    token = _decode(encoded) if nonce and encoded else None
    if token:
        principal = await principal_of(services, token)
        if principal is not None:
            request.state.session = Session(principal, csrf_token(nonce, token))
    return request.state.session  # type: ignore[no-any-return]


async def signed_in(request: Request, services: Svc) -> Principal:
    session = await current_session(request, services)
    if session is None:
        raise SignInRequired
    return session.principal


#: the principal of a page that needs one (no valid session: the page sends the browser to sign in)
PageCaller = Annotated[Principal, Depends(signed_in)]


def check_csrf(request: Request, submitted: str) -> None:
    """A POST from a signed-in page must carry its session's CSRF token."""
    session: Session | None = getattr(request.state, "session", None)
    if session is None or not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
        raise Forbidden("the form has expired or did not come from this site: reload the page and try again")


def start_session(response: Response, request: Request, settings: Settings, token: str) -> None:
    secure = secure_cookies(request, settings)
    value = f"{secrets.token_urlsafe(16)}.{_encode(token)}"
    response.set_cookie(_cookie_name(secure), value, max_age=SESSION_MAX_AGE_S, path="/", secure=secure,
                        httponly=True, samesite="lax")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", secure=secure, httponly=True, samesite="strict")


def end_session(response: Response, request: Request, settings: Settings) -> None:
    secure = secure_cookies(request, settings)
    response.delete_cookie(_cookie_name(secure), path="/", secure=secure, httponly=True, samesite="lax")


def new_signin_token() -> str:
    """A fresh double-submit token for the sign-in form (:func:`remember_signin_token` sets its cookie)."""
    return secrets.token_urlsafe(24)


def remember_signin_token(response: Response, request: Request, settings: Settings, value: str) -> None:
    response.set_cookie(SIGNIN_COOKIE, value, max_age=SIGNIN_MAX_AGE_S, path="/signin",
                        secure=secure_cookies(request, settings), httponly=True, samesite="strict")


def check_signin_token(request: Request, submitted: str) -> None:
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden("the sign-in form has expired: reload the page and try again")


def language(request: Request) -> Lang:
    wanted = request.cookies.get(LANG_COOKIE)
    return next((lang for lang in LANGS if lang == wanted), DEFAULT_LANG)


def set_language(response: Response, request: Request, settings: Settings, lang: Lang) -> None:
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/",
                        secure=secure_cookies(request, settings), httponly=True, samesite="lax")


def safe_next(target: str | None) -> str:
    """Where to go after signing in or switching language: a path on this site, nothing else."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return HOME
    return target
