"""The dashboard server's login: a bounded rate of failed logins per client, and no token in URLs or logs.

`spendsense dashboard` hands Voila `LoginIdentityProvider` (Jupyter server's identity provider, used for the
login form, `?token=` and `Authorization: token …` alike) and routes the server's logging through
`RedactingFilter`.
"""

from __future__ import annotations

import collections
import hmac
import logging
import math
import re
import sys
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.auth.login import LoginFormHandler
from tornado import web
from tornado.escape import xhtml_escape
from traitlets import Float, Integer

DEFAULT_MAX_FAILURES = 10  # failed logins per client IP …
DEFAULT_WINDOW = 60.0  # … within this many seconds; more answer 429 until the oldest one is this old
SECRET = "[secret]"
# the value of a URL parameter whose name contains token/password/xsrf, plain or percent-encoded (in next=)
SECRET_PARAM = re.compile(r"((?:token|password|xsrf)[\w.-]*(?:=|%3D|%253D))((?:(?!%26|%2526)[^&\s#'\"<>])+)",
                          re.IGNORECASE)
MAX_CLIENTS = 10_000  # clients with recent failures kept in memory


class FailedLoginLimiter:
    """At most `max_failures` failed logins per client in any `window` seconds (a sliding window)."""

    def __init__(self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_CLIENTS):
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be at least 1 and window positive")
        self.max_failures, self.window, self.clock, self.max_clients = max_failures, window, clock, max_clients
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, client: str, now: float) -> collections.deque[float]:
        """The client's failures within the window (older ones dropped)."""
        times = self._failures.get(client, collections.deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times

    def retry_after(self, client: str) -> int:
        """Whole seconds until `client` may try again; 0 when it may try now."""
        now = self.clock()
        times = self._recent(client, now)
        if len(times) < self.max_failures:
            return 0
        return max(1, math.ceil(times[-self.max_failures] + self.window - now))

    def record_failure(self, client: str) -> bool:
        """Count a failed login by `client`; True when this one reaches the limit."""
        now = self.clock()
        times = self._recent(client, now)
        if client not in self._failures and len(self._failures) >= self.max_clients:
            self._forget_oldest(now)
        times.append(now)
        self._failures[client] = times
        return len(times) == self.max_failures

    def _forget_oldest(self, now: float) -> None:
        """Drop clients whose failures have all expired, else the one whose latest failure is oldest."""
        for client in list(self._failures):
            self._recent(client, now)
        if len(self._failures) >= self.max_clients:
            del self._failures[min(self._failures, key=lambda c: self._failures[c][-1])]


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>SpendSense dashboard: log in</title>
<style>
body {{ margin: 0; background: #f4f6f8; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1f2933; }}
.ss-login {{ max-width: 420px; margin: 12vh auto 0 auto; background: #fff; border: 1px solid #cbd2d9;
  border-radius: 8px; padding: 24px 28px; }}
h1 {{ font-size: 18px; margin: 0 0 4px 0; }}
p {{ font-size: 13px; line-height: 1.45; color: #52606d; }}
label {{ display: block; font-size: 13px; font-weight: 600; margin: 14px 0 4px 0; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: 7px 9px; font-size: 14px;
  border: 1px solid #9aa5b1; border-radius: 5px; }}
button {{ margin-top: 14px; padding: 7px 16px; font-size: 14px; background: #2a6f97; color: #fff; border: 0;
  border-radius: 5px; cursor: pointer; }}
.ss-login-error {{ background: #ffe3e3; color: #8a041a; padding: 6px 10px; border-radius: 5px; font-size: 13px; }}
</style></head><body>
<main class="ss-login">
<h1>SpendSense operator dashboard</h1>
<p>Enter the dashboard token. It was printed when <code>spendsense dashboard</code> started, or it is the value
of <code>SPENDSENSE_DASHBOARD_TOKEN</code>. The browser keeps a login cookie afterwards.</p>
{message}
<form action="{action}" method="post" class="ss-login-form">
{xsrf}
<input type="hidden" name="next" value="{next}">
<label for="password_input">Token</label>
<input type="password" name="password" id="password_input" autocomplete="current-password" autofocus required>
<button type="submit" id="login_submit">Log in</button>
</form>
</main></body></html>
"""


class TokenLoginHandler(LoginFormHandler):
    """The login page: one token field in SpendSense's style (Jupyter's page offered a password setup that failed)."""

    def _render(self, message: dict | None = None) -> None:
        """Write the token form; `message` {"error": text} shows above it."""
        error = (message or {}).get("error")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(LOGIN_PAGE.format(
            message=f'<div class="ss-login-error" role="alert">{xhtml_escape(error)}</div>' if error else "",
            action=xhtml_escape(self.request.path), xsrf=self.xsrf_form_html(),
            next=xhtml_escape(self.get_argument("next", default=self.base_url))))


class LoginIdentityProvider(IdentityProvider):
    """Jupyter's token identity provider with a per-client limit on failed logins and token-free URLs."""

    login_max_failures = Integer(DEFAULT_MAX_FAILURES, config=True,
                                 help="failed logins allowed per client IP within login_window seconds")
    login_window = Float(DEFAULT_WINDOW, config=True, help="seconds over which failed logins are counted")

    def get_handlers(self) -> list[tuple[str, object]]:
        """The login page is SpendSense's token form (whatever login handler Voila asks for); logout as usual."""
        return [(r"/login", TokenLoginHandler)] + [h for h in super().get_handlers() if h[0] != r"/login"]

    @property
    def limiter(self) -> FailedLoginLimiter:
        """The failed-login limiter of this server (made on first use from the two traits)."""
        if getattr(self, "_limiter", None) is None:
            self._limiter = FailedLoginLimiter(self.login_max_failures, self.login_window)
        return self._limiter

    def _refuse_when_limited(self, handler: web.RequestHandler) -> None:
        """Answer 429 with Retry-After, without checking the credential, when the client is over the limit."""
        wait = self.limiter.retry_after(handler.request.remote_ip)
        if wait:
            handler.set_status(429)
            handler.set_header("Retry-After", str(wait))
            handler.set_header("Content-Type", "text/plain; charset=utf-8")
            raise web.Finish(f"Too many failed logins from this address; try again in {wait} s.\n")

    def _failed(self, handler: web.RequestHandler) -> None:
        """Count a failed login, and say so once in the server log when the client reaches the limit."""
        client = handler.request.remote_ip
        if self.limiter.record_failure(client):
            self.log.warning("%d failed logins from %s within %g s: further attempts answer 429",
                             self.login_max_failures, client, self.login_window)

    def _matches(self, presented: str) -> bool:
        """True when `presented` is the token (compared in constant time)."""
        return bool(self.token) and hmac.compare_digest(presented.encode(), self.token.encode())

    async def get_user_token(self, handler: web.RequestHandler) -> User | None:
        """The user of a request carrying the right token (`?token=` or Authorization header), else None."""
        presented = self.get_token(handler)
        if not presented or not self.token:
            return None
        self._refuse_when_limited(handler)
        if not self._matches(presented):
            self._failed(handler)
            return None
        user = self.get_user_cookie(handler)
        if not isinstance(user, User | None):
            user = await user
        return user or self.generate_anonymous_user(handler)

    async def _get_user(self, handler: web.RequestHandler) -> User | None:
        """The request's user; a page request with `?token=` is redirected to its URL without it."""
        user = await super()._get_user(handler)  # sets the login cookie when the token was right
        request = handler.request
        if user is not None and request.method == "GET" and "_xsrf" not in request.cookies:
            # Voila's page posts its kernel shutdown (navigator.sendBeacon on `beforeunload`) with the value of
            # the `_xsrf` cookie, but nothing on a Voila page ever sets that cookie (only the login form does),
            # so the shutdown was refused with "'_xsrf' argument missing" and every closed tab left its kernel.
            # Reading the token makes Tornado set the cookie on this response.
            handler.current_user = user  # what prepare() sets next; the token's cookie options depend on it
            handler.xsrf_token  # noqa: B018 - the property sets the cookie
        if (request.method in ("GET", "HEAD") and request.headers.get("Upgrade", "").lower() != "websocket"
                and handler.get_query_argument("token", None) is not None):
            handler.redirect(without_token(request.uri))  # to the login page, with a clean next, if wrong
            raise web.Finish()
        return user

    def process_login_form(self, handler: web.RequestHandler) -> User | None:
        """The user of a login form with the right token, else None (each miss counted)."""
        self._refuse_when_limited(handler)
        if self._matches(handler.get_argument("password", default="")):
            return self.generate_anonymous_user(handler)
        self._failed(handler)
        return None


def without_token(uri: str) -> str:
    """The request URI with its `token` query parameters removed (the rest kept in order)."""
    parts = urlsplit(uri)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    return urlunsplit(parts._replace(query=urlencode(kept)))


class RedactingFilter(logging.Filter):
    """Rewrites each log record with the token, and the value of any token-like URL parameter, as [secret]."""

    def __init__(self, token: str):
        super().__init__()
        self.forms = sorted({token, quote(token, safe=""), quote(quote(token, safe=""), safe="")} - {""},
                            key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every form of the token and every token-like parameter value replaced."""
        for form in self.forms:
            text = text.replace(form, SECRET)
        return SECRET_PARAM.sub(lambda m: m.group(1) + SECRET if m.group(2) != SECRET else m.group(0), text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message (arguments merged in) and any formatted traceback; keep the record."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def install_log_redaction(token: str, app_log: logging.Logger) -> RedactingFilter:
    """Route stderr logging (WARNING+ of every propagating logger, and the app's log) through a RedactingFilter."""
    redacting = RedactingFilter(token)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s | %(message)s"))
    handler.addFilter(redacting)
    logging.getLogger().addHandler(handler)
    app_log.addFilter(redacting)
    for existing in app_log.handlers:
        existing.addFilter(redacting)
    return redacting
