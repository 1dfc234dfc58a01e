"""E-mail settings: the transport (SMTP, sendmail, capture), detection, a test e-mail, and the
store's own details. Saved through ``store_settings.patch``, exactly as the API saves them;
the SMTP password is write-only and never shown back."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from shopmail.core.errors import Rejected
from shopmail.mail import testmail
from shopmail.mail.transports import TransportConfigError
from shopmail.mail.transports.detect import Detection, detect
from shopmail.mail.transports.sendmail import configured_path
from shopmail.panel import branding
from shopmail.panel.access import staff_required
from shopmail.panel.dashboard import transport_summary, worker_status
from shopmail.panel.forms import StoreForm, TestMailForm, TransportForm
from shopmail.panel.mailing import server_reply
from shopmail.store import store_settings
from shopmail.store.models import StoreSettings

STORE_FIELDS = (
    "company_name",
    "company_url",
    "admin_email",
    "from_name",
    "from_email",
    "reply_to",
    "default_language",
    "brand_color",
    "allow_backorder_choice",
    "update_digest_minutes",
)
BRANDING_FIELDS = ("logo_url", "footer_text")


def _minute(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value).replace(second=0, microsecond=0)


def store_initial(settings: StoreSettings) -> dict[str, Any]:
    initial = {name: getattr(settings, name) for name in STORE_FIELDS}
    initial.update({name: (settings.branding or {}).get(name, "") for name in BRANDING_FIELDS})
    initial["brand_color"] = (settings.branding or {}).get("accent_color") or settings.brand_color
    initial["notify_since"] = _minute(settings.notify_since)
    return initial


def transport_initial(settings: StoreSettings) -> dict[str, Any]:
    transport = settings.transport
    initial = {"kind": transport.get("kind", "capture"), "security": "starttls"}
    for name in ("host", "port", "security", "username"):
        if transport.get(name) is not None:
            initial[name] = transport[name]
    return initial


def add_errors(form: forms.Form, errors: list[dict[str, Any]], prefix: tuple[str, ...] = ("body",)) -> None:
    """Put ``Rejected`` errors beside the fields they name (the rest at the top of the form)."""
    for error in errors:
        loc = [str(part) for part in error.get("loc", [])]
        rest = loc[len(prefix) :] if tuple(loc[: len(prefix)]) == prefix else loc
        name = rest[0] if rest else None
        if name in form.fields:
            form.add_error(name, str(error["msg"]))
        else:
            form.add_error(None, f"{'.'.join(rest)}: {error['msg']}" if rest else str(error["msg"]))


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    settings = StoreSettings.load()
    context.setdefault("transport_form", TransportForm(initial=transport_initial(settings)))
    context.setdefault("store_form", StoreForm(initial=store_initial(settings)))
    context.setdefault(
        "test_form", TestMailForm(initial={"to": getattr(request.user, "email", "") or settings.admin_email})
    )
    context.update(
        store=settings,
        password_set=bool(settings.transport.get("password")),
        sendmail_path=configured_path(),
        transport=transport_summary(settings.transport),
        worker=worker_status(),
        last_test=settings.transport_test or None,
    )
    return render(request, "panel/settings.html", context, status=status)


@staff_required
def settings_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    settings = StoreSettings.load()
    form = StoreForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, status=422, store_form=form)
    upload = form.cleaned_data.get("logo_file")
    if upload:
        try:
            form.cleaned_data["logo_url"] = branding.store(upload.read(branding.MAX_BYTES + 1))
        except branding.LogoRefused as exc:
            form.add_error("logo_file", str(exc))
            return _page(request, status=422, store_form=form)
    body = {name: form.cleaned_data[name] for name in STORE_FIELDS}
    body["update_digest_minutes"] = form.cleaned_data["update_digest_minutes"] or 0
    body["branding"] = {
        **{name: (form.cleaned_data[name] or "").strip() for name in BRANDING_FIELDS},
        "accent_color": form.cleaned_data["brand_color"],
    }
    since = form.cleaned_data["notify_since"]
    if since != _minute(settings.notify_since):  # unchanged: keep the stored second-precise time
        body["notify_since"] = since.isoformat()
    try:
        store_settings.patch(body, settings)
    except Rejected as exc:
        add_errors(form, exc.errors)
        return _page(request, status=422, store_form=form)
    messages.success(request, gettext("Store settings saved."))
    return redirect("panel:settings")


def transport_body(data: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The ``transport`` patch for the form's values (the stored password is kept unless replaced)."""
    kind = data["kind"]
    if kind == "capture":
        return {"kind": "capture"}
    if kind == "sendmail":  # the program comes only from SHOPMAIL_SENDMAIL
        return {"kind": "sendmail"}
    body: dict[str, Any] = {
        "kind": "smtp",
        "host": data["host"].strip(),
        "port": data.get("port"),
        "security": data.get("security") or "starttls",
        "username": data.get("username") or None,
    }
    if data.get("password"):
        body["password"] = data["password"]
    elif data.get("clear_password"):
        body["password"] = ""
    if stored.get("kind") == "smtp":
        body.update({k: stored[k] for k in ("timeout", "pool_size") if stored.get(k) is not None})
    return body


@staff_required
@require_POST
def save_transport(request: HttpRequest) -> HttpResponse:
    settings = StoreSettings.load()
    form = TransportForm(request.POST)
    if not form.is_valid():
        return _page(request, status=422, transport_form=form)
    try:
        store_settings.patch({"transport": transport_body(form.cleaned_data, settings.transport)}, settings)
    except Rejected as exc:
        add_errors(form, exc.errors, prefix=("body", "transport"))
        return _page(request, status=422, transport_form=form)
    StoreSettings.objects.filter(pk=settings.pk).update(transport_test={})  # an old test says nothing now
    messages.success(request, gettext("Transport saved. The delivery worker uses it for the next message."))
    return redirect("panel:settings")


def probe_config(stored: dict[str, Any]) -> dict[str, Any] | None:
    """The SMTP server to probe: the configured one only (issue 19: staff could make shopmail
    connect to any host and port, a port scanner). A new server is probed once it is saved."""
    if stored.get("kind") != "smtp" or not stored.get("host"):
        return None
    return dict(stored)


@staff_required
@require_POST
def detect_transports(request: HttpRequest) -> HttpResponse:
    settings = StoreSettings.load()
    config = probe_config(settings.transport)
    found: list[Detection] = asyncio.run(detect(config))
    return _page(request, detections=found, probed=config is not None)


@staff_required
@require_POST
def send_test(request: HttpRequest) -> HttpResponse:
    form = TestMailForm(request.POST)
    if not form.is_valid():
        return _page(request, status=422, test_form=form)
    to = form.cleaned_data["to"]
    try:
        result = asyncio.run(testmail.send_test(to, store=StoreSettings.load()))
    except (TransportConfigError, ValueError, OSError) as exc:
        outcome = {"ok": False, "to": to, "summary": gettext("not sent"), "reply": str(exc)}
    else:
        outcome = {
            "ok": str(result.outcome) == "sent",
            "to": to,
            "summary": str(result.outcome),
            "reply": server_reply(result.code, result.reply),
        }
    # kept: the transport badge shows a failed test until a later test or a transport change
    settings = StoreSettings.load()
    at = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
    settings.transport_test = {"ok": outcome["ok"], "at": at, "to": to, "reply": outcome["reply"][:500]}
    settings.save(update_fields=["transport_test", "updated_at"])
    return _page(request, test_form=form, test_result=outcome)
