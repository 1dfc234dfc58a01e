"""Templates (SPEC section 2): read, save (validated as the editor does), restore, preview."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import json_body, json_response, object_body
from shopmail.core.errors import Rejected
from shopmail.mail import editing, templates
from shopmail.mail.notifications import NOTIFICATIONS
from shopmail.mail.rendering import TemplateRenderError

router = Router(tags=["templates"])
_PATH = "/templates/{notification}/{language}"


def _author(request: HttpRequest) -> str:
    key = getattr(request, "auth", None)
    return f"api:{getattr(key, 'name', '?')}"


def _checked(notification: str, language: str) -> None:
    errors = editing.check_key(notification, language)
    if errors:
        raise Rejected(errors)


@router.get("/templates", summary="Every notification and language, with whether it is customised")
def list_templates(request: HttpRequest) -> HttpResponse:
    items = []
    for key, spec in NOTIFICATIONS.items():
        for language in templates.languages():
            version = editing.as_json(key, language)["version"]
            items.append(
                {
                    "notification": key,
                    "language": language,
                    "audience": spec.audience,
                    "description": spec.description,
                    "version": version,
                }
            )
    return json_response({"items": items})


@router.get(_PATH, summary="A template: subject, HTML and text, and the variables it may use")
def get_template(request: HttpRequest, notification: str, language: str) -> HttpResponse:
    _checked(notification, language)
    return json_response(editing.as_json(notification, language))


@router.put(
    _PATH,
    summary="Save a template (refused with the line and reason if it does not compile or render)",
    openapi_extra=object_body({part: {"type": "string"} for part in ("subject", "html", "text")}),
)
def put_template(request: HttpRequest, notification: str, language: str) -> HttpResponse:
    _checked(notification, language)
    try:
        editing.save(notification, language, json_body(request), author=_author(request))
    except editing.TemplateRefused as exc:
        raise Rejected(exc.problems) from None
    return json_response(editing.as_json(notification, language))


@router.delete(_PATH, summary="Restore the packaged default (the history is kept)")
def delete_template(request: HttpRequest, notification: str, language: str) -> HttpResponse:
    _checked(notification, language)
    editing.restore_default(notification, language, author=_author(request))
    return json_response(editing.as_json(notification, language))


@router.get(
    _PATH + "/preview", summary="Subject, text and HTML rendered against a stored or the sample order"
)
def preview(request: HttpRequest, notification: str, language: str, order: str | None = None) -> HttpResponse:
    _checked(notification, language)
    try:
        return json_response(editing.preview(notification, language, order))
    except LookupError:
        return json_response({"detail": "order not found"}, status=404)
    except TemplateRenderError as exc:  # a stored template that cannot render (e.g. over the limits)
        raise Rejected(
            [{"loc": ["template", p.part], "line": p.line, "msg": p.reason} for p in exc.problems]
        ) from None
