"""Dashboard login against a real `spendsense dashboard` server: failed logins limited, no token in URLs or logs.

Requests come from different loopback addresses (127.0.0.x) so each test is its own client for the limit.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
import urllib.parse

import dashboard_server
import pytest

from spendsense.cli import main
from spendsense.commands import dashboard
from spendsense.dashboard.login import FailedLoginLimiter, RedactingFilter, without_token

TOKEN = "Login-test-Zq8vL2mXr5tN9wKc4yHb7J"
LIMIT, WINDOW = 5, 3  # --login-limit 5/3: short, so the cool-down test stays fast
NO_KERNEL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`spendsense dashboard --login-limit 5/3` over the fixture run."""
    with dashboard_server.serve(tmp_path_factory.mktemp("login"), TOKEN, "--login-limit", f"{LIMIT}/{WINDOW}") as s:
        yield s


def request(server, method: str, path: str, client: str = "127.0.0.1", headers: dict | None = None,
            body: str | None = None) -> http.client.HTTPResponse:
    """One HTTP request to the server from loopback address `client` (redirects not followed)."""
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60, source_address=(client, 0))
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def login(server, password: str, client: str) -> http.client.HTTPResponse:
    """POST the login form (with its XSRF cookie, as a browser does) from `client`."""
    xsrf = re.search(r"_xsrf=([^;]+)", request(server, "GET", "/login", client).getheader("Set-Cookie")).group(1)
    form = urllib.parse.urlencode({"_xsrf": xsrf, "password": password})
    return request(server, "POST", "/login", client, body=form,
                   headers={"Cookie": f"_xsrf={xsrf}", "Content-Type": "application/x-www-form-urlencoded"})


def session_cookie(response: http.client.HTTPResponse) -> str:
    """The login cookie (name=value) a response sets."""
    cookies = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or [] if c.startswith("username-")]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def logged_in(server, cookie: str, client: str) -> bool:
    """True when the login page sends this cookie's browser on (302) instead of showing the form."""
    return request(server, "GET", "/login", client, headers={"Cookie": cookie}).status == 302


def test_failed_logins_answer_429_with_retry_after_then_the_cool_down_ends(server):
    statuses, retry_after = [], []
    t0 = time.monotonic()
    for i in range(30):
        response = login(server, f"wrong-guess-{i}", "127.0.0.2")
        statuses.append(response.status)
        retry_after.append(response.getheader("Retry-After"))
    assert statuses == [401] * LIMIT + [429] * (30 - LIMIT)
    assert retry_after[:LIMIT] == [None] * LIMIT and all(1 <= int(r) <= WINDOW for r in retry_after[LIMIT:])
    assert time.monotonic() - t0 < WINDOW  # the 30 came within one window: the limit, not slowness, refused them
    assert login(server, TOKEN, "127.0.0.2").status == 429  # not even checked while locked
    ok = login(server, TOKEN, "127.0.0.3")  # another client is not affected
    assert ok.status == 302 and logged_in(server, session_cookie(ok), "127.0.0.3")
    time.sleep(int(login(server, TOKEN, "127.0.0.2").getheader("Retry-After")))
    after = login(server, TOKEN, "127.0.0.2")
    assert after.status == 302 and logged_in(server, session_cookie(after), "127.0.0.2")


def test_token_guesses_in_the_url_or_a_header_count_too(server):
    statuses = [request(server, "GET", f"/?token=guess-{i}", "127.0.0.4").status for i in range(3)]
    statuses += [request(server, "GET", "/login", "127.0.0.4", headers={"Authorization": f"token guess-{i}"}).status
                 for i in range(3)]
    assert statuses == [302] * 3 + [200] * 2 + [429]  # 302 to the login page, 200 the form, then the limit
    assert request(server, "GET", f"/?token={TOKEN}", "127.0.0.4").status == 429


def test_a_logged_in_browser_keeps_working_while_its_address_is_locked(server):
    cookie = session_cookie(login(server, TOKEN, "127.0.0.5"))
    assert [login(server, "nope", "127.0.0.5").status for _ in range(LIMIT + 1)][-1] == 429
    assert logged_in(server, cookie, "127.0.0.5")


def test_a_token_in_the_url_is_exchanged_for_a_cookie_and_removed(server):
    right = request(server, "GET", f"/?token={TOKEN}&role=analyst", "127.0.0.6")
    assert (right.status, right.getheader("Location")) == (302, "/?role=analyst")
    assert logged_in(server, session_cookie(right), "127.0.0.6")
    wrong = request(server, "GET", "/?role=analyst&token=not-it", "127.0.0.6")
    assert (wrong.status, wrong.getheader("Location")) == (302, "/?role=analyst")
    assert not [c for c in wrong.headers.get_all("Set-Cookie") or [] if c.startswith("username-")]
    assert request(server, "GET", "/?role=analyst", "127.0.0.6").getheader("Location") == \
        "/login?next=%2F%3Frole%3Danalyst"


def test_the_server_log_never_contains_the_token(server):
    quoted = urllib.parse.quote(TOKEN, safe="")
    leaky = {"Referer": f"{server['url']}?token={TOKEN}", "Authorization": f"token {TOKEN}"}
    errors = [  # 4xx and 5xx whose request line carries the token, plain or inside next=
        request(server, "POST", f"/voila/api/shutdown/{NO_KERNEL}?token={TOKEN}", "127.0.0.7", headers=leaky),
        request(server, "DELETE", f"/api/kernels/{NO_KERNEL}?token={TOKEN}", "127.0.0.7", headers=leaky),
        request(server, "GET", f"/api/kernels/{NO_KERNEL}/channels?token={TOKEN}", "127.0.0.7",
                headers={**leaky, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}),
        request(server, "GET", f"/voila/templates/none/{TOKEN}.js", "127.0.0.7", headers=leaky),
        request(server, "GET", f"/no-such-page/{quoted}?x=1&token={TOKEN}", "127.0.0.7", headers=leaky),
        request(server, "POST", f"/login?next=%2F%3Ftoken%3D{quoted}", "127.0.0.7", body="password=x"),
    ]
    statuses = [r.status for r in errors]
    assert statuses == [404, 404, 404, 500, 302, 403], statuses
    for _ in range(LIMIT + 1):
        request(server, "GET", f"/login?next=%2F%3Ftoken%3D{quoted}&token={TOKEN[:-1]}", "127.0.0.8")
    time.sleep(0.5)  # let the server flush its last lines
    log = server["log"].read_text()
    assert re.search(r"404 POST /voila/api/shutdown/\S+\?token=\[secret\]", log)  # the 4xx lines are there …
    assert re.search(r"500 GET /voila/templates/none/\[secret\]\.js", log)  # … and the 5xx one
    assert "429 GET /login?next=%2F%3Ftoken%3D[secret]" in log and "failed logins from 127.0.0.8" in log
    for secret in (TOKEN, quoted, TOKEN[:-1]):  # nor a near miss
        assert secret not in log


def test_limiter_is_a_sliding_window_per_client():
    now = [0.0]
    limiter = FailedLoginLimiter(3, 10.0, clock=lambda: now[0], max_clients=2)
    assert [limiter.record_failure("a") for _ in range(3)] == [False, False, True]
    assert limiter.retry_after("a") == 10 and limiter.retry_after("b") == 0
    now[0] = 4.5
    assert limiter.retry_after("a") == 6
    now[0] = 10.0
    assert limiter.retry_after("a") == 0  # the oldest failure left the window: one more try
    limiter.record_failure("b")
    limiter.record_failure("c")  # a third client: the one with the oldest last failure is forgotten
    assert set(limiter._failures) == {"b", "c"}


def test_redaction_blanks_the_token_and_token_like_parameters():
    f = RedactingFilter(TOKEN)
    record = logging.LogRecord("tornado.access", logging.WARNING, __file__, 1, "%d %s", (404, (
        f"GET /x?token=guess&role=analyst&next=%2F%3Ftoken%3Dother%26role%3Dx Referer: {TOKEN}")), None)
    assert f.filter(record)
    assert record.getMessage() == ("404 GET /x?token=[secret]&role=analyst&next=%2F%3Ftoken%3D[secret]%26role%3Dx "
                                   "Referer: [secret]")
    assert without_token("/?role=analyst&token=abc&token=def") == "/?role=analyst"


@pytest.mark.parametrize("bad", ["10", "0/60", "10/0", "ten/60", "10/-1", "10/nan", "10/inf", "10/100000"])
def test_bad_login_limits_are_refused(bad, tmp_path, monkeypatch, capsys):
    with pytest.raises(ValueError, match="FAILURES/SECONDS"):
        dashboard.parse_login_limit(bad)
    run = tmp_path / "run"
    run.mkdir()
    (run / "warehouse.duckdb").write_bytes(b"")
    monkeypatch.delenv("SPENDSENSE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.setenv("SPENDSENSE_DASHBOARD_LOGIN_LIMIT", bad)
    assert main(["dashboard", "--run-dir", str(run), "--port", "8999"]) == 2
    assert "SPENDSENSE_DASHBOARD_LOGIN_LIMIT" in capsys.readouterr().err


def test_login_limit_default_and_flag():
    assert dashboard.parse_login_limit(dashboard.DEFAULT_LOGIN_LIMIT) == (10, 60.0)
    assert dashboard.parse_login_limit(" 3/1.5 ") == (3, 1.5)
    settings = dashboard.voila_settings(TOKEN, (3, 1.5))
    assert settings["config"].LoginIdentityProvider.login_max_failures == 3
    assert settings["identity_provider_class"].__name__ == "LoginIdentityProvider"
