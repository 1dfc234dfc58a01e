"""Templates: the list by notification and language, and the editor (subject, HTML, text) with
its variables, a live preview on a real or the sample order, save (refused with line and
reason), "send me a test", restore default, and the version history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shopmail.mail import editing, rendering, templates
from shopmail.mail.models import TemplateVersion
from shopmail.mail.notifications import NOTIFICATIONS, Notification
from shopmail.mail.render.formatting import known_language
from shopmail.mail.transports import TransportConfigError
from shopmail.panel import mailing
from shopmail.panel.access import staff_required
from shopmail.panel.forms import LANGUAGE_NAMES
from shopmail.store.models import Order

PART_NAMES = {"subject": "Subject", "html": "HTML", "text": "Text"}


def _spec(notification: str, language: str) -> Notification:
    if editing.check_key(notification, language):
        raise Http404("no such template")
    return NOTIFICATIONS[notification]


def _source(data: QueryDict) -> rendering.TemplateSource:
    parts = {part: str(data.get(part, "")).replace("\r\n", "\n") for part in rendering.PARTS}
    return rendering.TemplateSource(parts["subject"], parts["text"], parts["html"])


def _problem(part: str, line: int | None, msg: str) -> dict[str, Any]:
    where = PART_NAMES.get(part, part)
    return {"part": part, "line": line, "msg": msg, "label": f"{where}: {msg}"}


def _validate(notification: str, language: str, source: rendering.TemplateSource) -> list[dict[str, Any]]:
    return [
        _problem(p.part, p.line, f"line {p.line}: {p.reason}" if p.line else p.reason)
        for p in rendering.validate(notification, source, language)
    ]


def render_preview(
    notification: str, language: str, source: rendering.TemplateSource, order_id: str
) -> dict[str, Any]:
    """``{"ok": True, subject, text, html}`` or ``{"ok": False, "problems": [...]}``."""
    problems = _validate(notification, language, source)
    if problems:
        return {"ok": False, "problems": problems}
    try:
        result = editing.preview(notification, language, order_id or None, source=source)
    except LookupError:
        return {"ok": False, "problems": [_problem("order", None, f"there is no order {order_id!r}")]}
    except rendering.TemplateRenderError as exc:
        return {
            "ok": False,
            "problems": [
                _problem(p.part, p.line, f"line {p.line}: {p.reason}" if p.line else p.reason)
                for p in exc.problems
            ],
        }
    except Exception as exc:  # a real order may hold data the template cannot use
        return {"ok": False, "problems": [_problem("order", None, f"{type(exc).__name__}: {exc}")]}
    return {"ok": True, "subject": result["subject"], "text": result["text"], "html": result["html"]}


def shown(result: dict[str, Any]) -> dict[str, Any]:
    """A preview's result as both editors' pages show it: the preview, or its problems (422)."""
    ok = result["ok"]
    return {
        "status": 200 if ok else 422,
        "preview": result if ok else None,
        "problems": result.get("problems"),
    }


@staff_required
def template_list(request: HttpRequest) -> HttpResponse:
    latest: dict[tuple[str, str], TemplateVersion] = {}
    for version in TemplateVersion.objects.order_by("-created_at", "-id").only(
        "notification", "language", "restored_default", "created_at", "created_by"
    ):
        latest.setdefault((version.notification, version.language), version)
    rows = []
    languages = templates.languages()  # the shipped ones and any a template was saved in (SPEC 6)
    for key, spec in NOTIFICATIONS.items():
        cells = []
        for language in languages:
            found = latest.get((key, language))
            custom = found is not None and not found.restored_default
            cells.append({"language": language, "custom": custom, "version": found if custom else None})
        rows.append({"key": key, "spec": spec, "cells": cells})
    return render(
        request,
        "panel/templates_list.html",
        {"rows": rows, "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in languages]},
    )


def fill_page(
    context: dict[str, Any],
    spec: Notification,
    language: str,
    errors: tuple[str, str],
    render_draft: Callable[[], dict[str, Any]],
) -> None:
    """What both editors' pages show around the text, added to ``context``: the notification, the
    languages, recent orders to preview with, the problems grouped by ``errors[0]`` ("part" or
    "field") under the name ``errors[1]``, and the preview: the one given, else (when there are
    no problems) ``render_draft()``."""
    if "preview" not in context and not context.get("problems"):
        result = render_draft()
        context["preview"] = result if result["ok"] else None
    key, name = errors
    grouped: dict[str, list[str]] = {}
    for problem in context.get("problems") or ():
        grouped.setdefault(problem[key], []).append(problem["msg"])
    context.update(
        {
            "spec": spec,
            "notification": spec.key,
            "language": language,
            "language_name": LANGUAGE_NAMES.get(language, language),
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in templates.languages()],
            "recent_orders": (
                list(Order.objects.order_by("-created_at").values_list("external_id", "number")[:20])
                if spec.about_order
                else []
            ),
            name: grouped,
            # the editor's help names template syntax, which a translated sentence cannot hold as text
            "syntax_variable": "{{ order.number }}",
            "syntax_loop": "{% for line in order.lines %}",
        }
    )


def _editor(
    request: HttpRequest,
    notification: str,
    language: str,
    source: rendering.TemplateSource | None = None,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    spec = NOTIFICATIONS[notification]
    current = editing.as_json(notification, language)
    if source is None:
        source = rendering.TemplateSource(current["subject"], current["text"], current["html"])
    versions = list(TemplateVersion.objects.filter(notification=notification, language=language)[:30])
    order_id = context.get("order_id", "")

    def render_draft() -> dict[str, Any]:
        return render_preview(notification, language, source, order_id)

    fill_page(context, spec, language, ("part", "errors_by_part"), render_draft)
    context.update(
        current=current,
        source=source,
        versions=versions,
        live_version=versions[0] if versions and not versions[0].restored_default else None,
        preview_url=reverse("panel:template_preview", args=[notification, language]),
        order_id=order_id,
    )
    return render(request, "panel/template_edit.html", context, status=status)


@staff_required
def template_edit(request: HttpRequest, notification: str, language: str) -> HttpResponse:
    _spec(notification, language)
    if request.method != "POST":
        source = None
        version_id = request.GET.get("version", "")
        if version_id.isdigit():
            version = get_object_or_404(
                TemplateVersion, pk=int(version_id), notification=notification, language=language
            )
            source = (
                rendering.default_source(notification, language)
                if version.restored_default
                else rendering.TemplateSource(version.subject, version.text, version.html)
            )
            messages.info(
                request,
                _("Version %(pk)s loaded into the editor. Save to make it live.") % {"pk": version.pk},
            )
        order_id = request.GET.get("order", "").strip()[:64]
        return _editor(request, notification, language, source, order_id=order_id)

    source = _source(request.POST)
    order_id = str(request.POST.get("order", "")).strip()
    action = request.POST.get("action", "save")
    if action == "preview":
        result = render_preview(notification, language, source, order_id)
        return _editor(request, notification, language, source, order_id=order_id, **shown(result))
    if action == "test":
        return _send_test(request, notification, language, source, order_id)
    try:
        saved = editing.save(notification, language, source._asdict(), author=request.user.get_username())
    except editing.TemplateRefused as exc:
        problems = [_problem(str(p["loc"][-1]), p.get("line"), str(p["msg"])) for p in exc.problems]
        return _editor(
            request, notification, language, source, status=422, problems=problems, order_id=order_id
        )
    messages.success(
        request, _("Saved as version %(pk)s. New e-mails use it from now on.") % {"pk": saved.pk}
    )
    return redirect("panel:template_edit", notification, language)


def send_test_to_me(request: HttpRequest, notification: str, result: dict[str, Any]) -> dict[str, Any]:
    """Send a rendered draft (unsaved) to the signed-in staff user now; what the server said.
    Both editors' "Send me a test"."""
    to = getattr(request.user, "email", "") or request.user.get_username()
    try:
        sent = mailing.send_now(
            to, f"[Test] {result['subject']}", result["text"], result["html"], notification=notification
        )
    except (TransportConfigError, ValueError, OSError) as exc:
        return {"ok": False, "to": to, "summary": "not sent", "reply": str(exc)}
    return {
        "ok": str(sent.outcome) == "sent",
        "to": to,
        "summary": str(sent.outcome),
        "reply": mailing.server_reply(sent.code, sent.reply),
    }


def _send_test(
    request: HttpRequest,
    notification: str,
    language: str,
    source: rendering.TemplateSource,
    order_id: str,
) -> HttpResponse:
    result = render_preview(notification, language, source, order_id)
    if not result["ok"]:
        return _editor(request, notification, language, source, order_id=order_id, **shown(result))
    outcome = send_test_to_me(request, notification, result)
    return _editor(
        request, notification, language, source, preview=result, test_result=outcome, order_id=order_id
    )


@staff_required
@require_POST
def template_preview(request: HttpRequest, notification: str, language: str) -> JsonResponse:
    """JSON for the editor's live preview: the draft in the form, rendered, or its problems."""
    _spec(notification, language)
    result = render_preview(
        notification, language, _source(request.POST), str(request.POST.get("order", "")).strip()
    )
    return JsonResponse(result)  # staff_required adds the panel's headers


@staff_required
@require_POST
def template_restore(request: HttpRequest, notification: str, language: str) -> HttpResponse:
    _spec(notification, language)
    editing.restore_default(notification, language, author=request.user.get_username())
    messages.success(request, _("The packaged default is live again; earlier versions stay in the history."))
    return redirect("panel:template_edit", notification, language)


@staff_required
def template_version(request: HttpRequest, notification: str, language: str, pk: int) -> HttpResponse:
    spec = _spec(notification, language)
    version = get_object_or_404(TemplateVersion, pk=pk, notification=notification, language=language)
    source = (
        rendering.default_source(notification, language)
        if version.restored_default
        else rendering.TemplateSource(version.subject, version.text, version.html)
    )
    preview = render_preview(notification, language, source, "")
    live = TemplateVersion.objects.filter(notification=notification, language=language).first()
    return render(
        request,
        "panel/template_version.html",
        {
            "spec": spec,
            "notification": notification,
            "language": language,
            "version": version,
            "source": source,
            "preview": preview if preview["ok"] else None,
            "is_live": live is not None and live.pk == version.pk,
        },
    )


@staff_required
def add_language(request: HttpRequest) -> HttpResponse:
    """Staff add a language by saving templates for it (SPEC 6): open the order confirmation in it."""
    code = request.GET.get("language", "").strip().lower()
    if not known_language(code):
        messages.error(
            request, _("%(code)s is not a language code such as fr, sv or es.") % {"code": repr(code[:10])}
        )
        return redirect("panel:templates")
    return redirect("panel:template_edit", "order_confirmed", code)
