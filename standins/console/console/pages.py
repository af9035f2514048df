"""The HTML side: the login form, logout, and the two single-page shells.

The shells are static files (`static/grafana/index.html`, `static/kibana/index.html`); each
page request gets one with `<!--console:head-->` replaced by the CSRF token and who is logged
in, so the browser code needs no extra round trip before its first API call.
"""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .auth import (
    COOKIE,
    SESSION_SECONDS,
    Auth,
    Handler,
    Principal,
    TooManyFailures,
    client_address,
    safe_next,
)
from .shapes import Side, error

STATIC_DIR = Path(__file__).parent / "static"
HEAD_MARKER = "<!--console:head-->"
PRODUCT = {"grafana": "Grafana", "kibana": "Kibana"}

# Field names, ids, Grafana's e2e selectors (data-testid) and Kibana's test subjects
# (data-test-subj: loginUsername, loginPassword, loginSubmit, as on Kibana's own login page) are
# kept stable: browser checks, which also run against the real products, rely on them.
LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in - {product} (console)</title>
<link rel="stylesheet" href="/public/login.css">
</head><body class="console-login console-{side}">
<main>
<h1>{product}</h1>
<p class="console-login-note">console: the local stand-in for {product}</p>
{message}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="next" value="{next}">
<label for="login-user">Email or username</label>
<input id="login-user" name="user" autocomplete="username" required autofocus
  data-testid="data-testid Username input field" data-test-subj="loginUsername">
<label for="login-password">Password</label>
<input id="login-password" name="password" type="password" autocomplete="current-password"
  required data-testid="data-testid Password input field" data-test-subj="loginPassword">
<button id="login-submit" type="submit" data-testid="data-testid Login button"
  data-test-subj="loginSubmit">Log in</button>
</form>
</main></body></html>
"""


def login_page(side: Side, *, next_url: str, message: str = "", status: int = 200) -> HTMLResponse:
    note = ""
    if message:
        note = f'<p class="console-login-error" role="alert">{html.escape(message)}</p>'

    body = LOGIN_PAGE.format(
        product=PRODUCT[side], side=side, message=note, next=html.escape(next_url, quote=True)
    )
    return HTMLResponse(body, status_code=status)


def make_login(side: Side) -> Handler:
    async def login(request: Request) -> Response:
        auth: Auth = request.app.state.auth
        if request.method == "GET":
            target = safe_next(request.query_params.get("next"))
            try:
                if auth.authenticate(request) is not None:
                    return RedirectResponse(target, 302)
            except TooManyFailures:
                pass
            return login_page(side, next_url=target)
        wants_json = request.headers.get("content-type", "").startswith("application/json")
        if wants_json:
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                body = None
            if not isinstance(body, dict):
                return error(side, 400, 'expected a JSON object {"user": ..., "password": ...}')
            user, password = str(body.get("user", "")), str(body.get("password", ""))
            target = safe_next(body.get("next") if isinstance(body.get("next"), str) else None)
        else:
            form = await request.form()
            user, password = str(form.get("user", "")), str(form.get("password", ""))
            target = safe_next(str(form.get("next", "")) or None)
        try:
            role = auth.verify(user, password, client_address(request))
        except TooManyFailures as exc:
            message = "Too many consecutive incorrect login attempts"
            response: Response = (
                error(side, 429, message)
                if wants_json
                else login_page(side, next_url=target, message=f"{message}: try again later",
                                status=429)
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if role is None:
            message = "Invalid username or password"
            if wants_json:
                return error(side, 401, message)
            return login_page(side, next_url=target, message=message, status=401)
        cookie, _ = auth.new_session(user, role)
        if wants_json:
            response = JSONResponse({"message": "Logged in", "redirectUrl": target})
        else:
            response = RedirectResponse(target, 302)
        response.set_cookie(
            COOKIE, cookie, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="lax"
        )
        return response

    return login


async def logout(request: Request) -> Response:
    request.app.state.auth.revoke(request)
    response = RedirectResponse("/login", 302)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _head(principal: Principal) -> str:
    csrf = html.escape(principal.csrf_token, quote=True)
    return (
        f'<meta name="csrf-token" content="{csrf}">'
        f'<meta name="console-user" content="{html.escape(principal.login, quote=True)}">'
        f'<meta name="console-role" content="{principal.role_name}">'
    )


def shell(side: Side) -> Handler:
    """A page route answering the side's shell, read at each request so edits show at once."""
    path = STATIC_DIR / side / "index.html"

    async def page(request: Request) -> Response:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return error(side, 500, f"the page shell {path} is missing: reinstall the console")
        head = _head(request.state.principal)
        if HEAD_MARKER in text:
            text = text.replace(HEAD_MARKER, head, 1)
        else:
            text = text.replace("</head>", head + "</head>", 1)
        return HTMLResponse(text, headers={"Cache-Control": "no-store"})

    return page
