"""The simple template editor (issue 27, 1): a subject line and an "extra text" above or below the
standard body, with a small formatting toolbar and clickable variables; the preview and the
save-time checks are the full editor's (``editor.render_preview``, ``rendering.validate``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shopmail.mail import simple_editing
from shopmail.mail.simple_editing import SimpleDraft
from shopmail.panel.access import staff_required
from shopmail.panel.editor import _spec, fill_page, render_preview, send_test_to_me, shown
from shopmail.panel.names import notification_name
from shopmail.store.models import StoreSettings

FIELD_NAMES = {
    "subject": gettext_lazy("Subject"),
    "extra_text": gettext_lazy("Extra text"),
    "position": gettext_lazy("Place"),
    "order": gettext_lazy("Order"),
}


def _draft(data: QueryDict) -> SimpleDraft:
    return SimpleDraft(
        subject=str(data.get("subject", "")).replace("\r\n", "\n"),
        extra_text=str(data.get("extra_text", "")).replace("\r\n", "\n"),
        position=str(data.get("position", "bottom")),
    )


def _labelled(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "label": f"{FIELD_NAMES.get(p['field'], p['field'])}: {p['msg']}"} for p in problems]


def preview(notification: str, language: str, draft: SimpleDraft, order_id: str) -> dict[str, Any]:
    """``{"ok": True, subject, text, html}`` or ``{"ok": False, "problems": [...]}`` (by field)."""
    source, problems = simple_editing.check(notification, language, draft)
    if problems:
        return {"ok": False, "problems": _labelled(problems)}
    result = render_preview(notification, language, source, order_id)
    if not result["ok"]:  # the order given: the checks above passed on the sample order
        fields = [
            {"field": "order" if p["part"] == "order" else "extra_text", "msg": p["msg"]}
            for p in result["problems"]
        ]
        return {"ok": False, "problems": _labelled(fields)}
    return result


def _page(
    request: HttpRequest,
    notification: str,
    language: str,
    draft: SimpleDraft | None = None,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    spec = _spec(notification, language)
    saved, live_version = simple_editing.live(notification, language)
    shown_draft = draft or saved  # what the owner typed, else what they saved
    store = StoreSettings.load().store_context()
    order_id = context.get("order_id", "")

    def render_draft() -> dict[str, Any]:
        return preview(notification, language, shown_draft, order_id)

    fill_page(context, spec, language, ("field", "errors"), render_draft)
    context.update(
        draft=shown_draft,
        live_version=live_version,
        replaces_own=live_version is not None and not live_version.simple,
        variables=simple_editing.insertable_variables(notification, language, store=store),
        standard_subject=simple_editing.standard_subject(notification, language, store=store),
        order_id=order_id,
        preview_url=reverse("panel:template_simple_preview", args=[notification, language]),
        title=notification_name(notification),
    )
    return render(request, "panel/template_simple.html", context, status=status)


@staff_required
def template_simple(request: HttpRequest, notification: str, language: str) -> HttpResponse:
    _spec(notification, language)
    if request.method != "POST":
        return _page(request, notification, language, order_id=request.GET.get("order", "").strip()[:64])
    draft = _draft(request.POST)
    order_id = str(request.POST.get("order", "")).strip()[:64]
    action = request.POST.get("action")
    if action in ("preview", "test"):
        result = preview(notification, language, draft, order_id)
        if action == "test" and result["ok"]:  # "Send me a test": the draft, unsaved
            outcome = send_test_to_me(request, notification, result)
            return _page(
                request, notification, language, draft, order_id=order_id, preview=result, test_result=outcome
            )
        return _page(request, notification, language, draft, order_id=order_id, **shown(result))
    try:
        saved = simple_editing.save(notification, language, draft, author=request.user.get_username())
    except simple_editing.SimpleRefused as exc:
        return _page(
            request,
            notification,
            language,
            draft,
            status=422,
            problems=_labelled(exc.problems),
            order_id=order_id,
        )
    messages.success(
        request, _("Saved as version %(pk)s. New e-mails use it from now on.") % {"pk": saved.pk}
    )
    return redirect("panel:template_simple", notification, language)


@staff_required
@require_POST
def template_simple_preview(request: HttpRequest, notification: str, language: str) -> JsonResponse:
    """JSON for the live preview: the simple draft composed and rendered, or its problems."""
    _spec(notification, language)
    return JsonResponse(
        preview(notification, language, _draft(request.POST), str(request.POST.get("order", "")).strip()[:64])
    )
