"""Subscriptions: the public sign-up (JSON, or the form of `GET /subscribe`), the links of the
emails (confirm, unsubscribe), and the operators' list of subscribers (admin token). No public
answer lists a subscriber or tells whether an address had already signed up."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from status_service import subscriptions as book
from status_service.api.deps import Admin, MonitorDep, SettingsDep
from status_service.api.routes.public import NO_CACHE, base_url, templates
from status_service.core.config import Settings
from status_service.courier import Courier
from status_service.signup import SignUpError, SignUpRequest, parse_signup

router = APIRouter(tags=["subscriptions"])
admin_router = APIRouter(prefix="/api/v1", tags=["admin"], dependencies=[Admin])
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 8192


def get_courier(request: Request) -> Courier:
    courier: Courier = request.app.state.courier
    return courier


CourierDep = Annotated[Courier, Depends(get_courier)]


def _now() -> datetime:
    return datetime.now(UTC)


def client_ip(request: Request) -> str:
    """The address the gateway saw: the last X-Forwarded-For hop (nginx appends it), else
    the peer. Direct callers can forge the header; the gateway is the supported path."""
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    if hops:
        return hops[-1]
    return request.client.host if request.client else "unknown"


def _html(
    request: Request, settings: Settings, status_code: int, heading: str, message: str, **extra: Any
) -> HTMLResponse:
    html = templates.get_template("subscribe.html.j2").render(
        title=settings.page_title,
        heading=heading,
        message=message,
        error=status_code >= 400,
        page_url=base_url(request, settings.public_url),
        email_enabled=bool(settings.smtp_address),
        **extra,
    )
    return HTMLResponse(html, status_code=status_code, headers=NO_CACHE)


@router.get("/subscribe", response_class=HTMLResponse)
async def subscribe_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _html(request, settings, 200, "Get notified", "", show_form=True)


async def _signup_data(request: Request) -> tuple[Any, bool]:
    """The body as a dict (JSON, or the form's fields) and whether it came from the form."""
    raw = (await request.body())[:MAX_BODY]
    if request.headers.get("content-type", "").split(";")[0].strip() == FORM:
        fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in fields.items()}, True
    try:
        return json.loads(raw), False
    except (ValueError, UnicodeDecodeError):
        return None, False  # parse_signup names it


@router.post(
    "/subscriptions",
    status_code=202,
    responses={
        201: {"description": "a webhook, subscribed"},
        202: {"description": "an email address: a confirmation email is on its way"},
        400: {"description": "no email or webhook, or a malformed one (the field is named)"},
        429: {"description": "too many sign-ups for the address or from the client"},
        503: {"description": "an email address, but the page sends no email (no SMTP_ADDRESS)"},
    },
)
async def subscribe(
    request: Request, monitor: MonitorDep, settings: SettingsDep, courier: CourierDep
) -> Response:
    data, form = await _signup_data(request)

    def answer(status_code: int, message: str, **fields: Any) -> Response:
        if form:
            heading = "Subscribed" if status_code < 400 else "Not subscribed"
            return _html(request, settings, status_code, heading, message, show_form=True)
        body = {"detail": message, **fields}
        headers = {"Retry-After": str(fields["retry_after"])} if "retry_after" in fields else None
        return JSONResponse(body, status_code=status_code, headers=headers)

    try:
        signup = parse_signup(data, allow_private=settings.allow_private_webhooks)
    except SignUpError as exc:
        return answer(400, str(exc))
    if signup.kind == "email" and not settings.smtp_address:
        return answer(
            503, "email: this page sends no email (its SMTP_ADDRESS is not set); subscribe a "
            "webhook instead"
        )  # fmt: skip
    page_url = base_url(request, settings.public_url)

    def work(session: Session) -> book.SignedUp:
        return book.subscribe(
            session, signup, client=client_ip(request), page_url=page_url, now=_now()
        )

    try:
        signed = await monitor.transaction(work)
    except book.SignUpLimited as exc:
        return answer(429, str(exc), retry_after=exc.retry_after)
    courier.wake()
    return _signed_up(answer, signup, signed, page_url)


def _signed_up(
    answer: Callable[..., Response], signup: SignUpRequest, signed: book.SignedUp, page_url: str
) -> Response:
    if signup.kind == "email":  # the same answer whatever the address's past: it tells nothing
        return answer(
            202,
            f"Check the inbox of {signup.address}: notices start once the link in our "
            "confirmation email is followed (nothing is sent to an address already subscribed).",
            status="pending",
        )
    return answer(
        201,
        f"Subscribed: {signup.address} gets a JSON POST for every incident and maintenance notice.",
        status=signed.state,
        unsubscribe=f"{page_url}/subscriptions/unsubscribe/{signed.unsubscribe_token}",
    )


@router.get("/subscriptions/confirm/{token}", response_class=HTMLResponse)
async def confirm(
    token: str, request: Request, monitor: MonitorDep, settings: SettingsDep
) -> HTMLResponse:
    found = await monitor.transaction(lambda s: book.confirm(s, token, _now()) is not None)
    if not found:
        return _html(
            request, settings, 404, "Link not valid",
            "This confirmation link is not valid: it may be cut short, or the subscription was "
            "cancelled since. Subscribe again below.",
            show_form=True,
        )  # fmt: skip
    return _html(
        request, settings, 200, "Subscribed",
        "Your subscription is confirmed: you will get an email when an incident opens, is "
        "updated or is resolved, and about planned maintenance. Each one has an unsubscribe link.",
    )  # fmt: skip


@router.get("/subscriptions/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(
    token: str, request: Request, monitor: MonitorDep, settings: SettingsDep
) -> HTMLResponse:
    """One button, which POSTs here. A GET changes nothing: mail scanners fetch the links of
    an email, and would unsubscribe people (the reason for RFC 8058's POST)."""

    def address(session: Session) -> str | None:
        found = book.find_by_unsubscribe_token(session, token)
        return None if found is None or found.state == "unsubscribed" else found.address

    shown = await monitor.transaction(address)
    if shown is None:
        return _not_subscribed(request, settings)
    return _html(
        request, settings, 200, "Unsubscribe", "",
        unsubscribe_action=f"{base_url(request, settings.public_url)}/subscriptions/unsubscribe/"
        f"{token}",
        unsubscribe_address=shown,
    )  # fmt: skip


@router.post("/subscriptions/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(
    token: str, request: Request, monitor: MonitorDep, settings: SettingsDep
) -> HTMLResponse:
    """The button of the page above, and a mail client's one-click unsubscribe (RFC 8058:
    `List-Unsubscribe=One-Click` in a form body, which changes nothing here)."""
    found = await monitor.transaction(lambda s: book.unsubscribe(s, token, _now()) is not None)
    if not found:
        return _not_subscribed(request, settings)
    return _html(
        request, settings, 200, "Unsubscribed",
        "You are unsubscribed: nothing more is sent, including notices already on their way.",
        show_form=False,
    )  # fmt: skip


def _not_subscribed(request: Request, settings: Settings) -> HTMLResponse:
    return _html(
        request, settings, 404, "Link not valid",
        "This unsubscribe link is not valid, or the subscription has already ended.",
    )  # fmt: skip


@admin_router.get("/subscribers")
async def list_subscribers(monitor: MonitorDep) -> list[dict[str, Any]]:
    """Every subscriber: kind, address or URL, state (pending, confirmed, failing,
    unsubscribed), when it signed up and confirmed, and its deliveries by state."""
    return await monitor.transaction(book.list_subscribers)
