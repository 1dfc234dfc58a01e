"""Creating and editing newsletter drafts (the panel wizard and the API share this)."""

from __future__ import annotations

from typing import Any

import inscriptis
from django.db import transaction

from shopmail.mail import rendering
from shopmail.newsletter import segments
from shopmail.newsletter.models import Newsletter, Segment

MAX_SUBJECT = 500
MAX_BODY = 400_000  # characters of HTML or text; the rendered e-mail must stay under the renderer's cap


class Invalid(ValueError):
    """``errors`` name every bad field as ``{"loc": [...], "msg": ...}``."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


def text_from_html(html: str) -> str:
    """The text part as generated from the HTML (links kept as text, layout as lines)."""
    return inscriptis.get_text(html).strip() if html.strip() else ""


def _check_text(name: str, value: Any, errors: list[dict[str, Any]], limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append({"loc": [name], "msg": "must be a string"})
        return ""
    if len(value) > limit:
        errors.append({"loc": [name], "msg": f"is too long (at most {limit} characters)"})
    return value


def save(
    newsletter: Newsletter | None,
    *,
    subject: Any,
    html: Any = "",
    text: Any = None,
    filters: Any = None,
    segment: Segment | None = None,
    save_segment_as: str = "",
    author: str = "",
) -> Newsletter:
    """Create (``newsletter`` None) or update a draft. ``text`` None or empty: generated from the
    HTML. ``segment``: a saved segment (its filters are used as they are at sending time);
    otherwise ``filters``, optionally saved as a new segment named ``save_segment_as``."""
    errors: list[dict[str, Any]] = []
    if newsletter is not None and not newsletter.editable:
        raise Invalid(
            [{"loc": ["status"], "msg": "a newsletter that is being sent or was sent cannot be changed"}]
        )
    subject = " ".join(_check_text("subject", subject, errors, MAX_SUBJECT).split())
    if not subject and not any(e["loc"] == ["subject"] for e in errors):
        errors.append({"loc": ["subject"], "msg": "is required"})
    html = _check_text("html", html, errors, MAX_BODY)
    text = _check_text("text", text, errors, MAX_BODY)
    clean_filters: dict[str, Any] = {}
    if segment is None:
        try:
            clean_filters = segments.clean(filters)
        except segments.SegmentError as exc:
            errors.extend(exc.errors)
    if not errors:  # the content is a template: the order templates' sandbox and variables (SPEC 6)
        for problem in rendering.validate_newsletter(subject, html, text):
            where = f"line {problem.line}: " if problem.line else ""
            errors.append({"loc": [problem.part], "msg": f"{where}{problem.reason}"})
    name = (save_segment_as or "").strip()
    if name and len(name) > 200:
        errors.append({"loc": ["save_segment_as"], "msg": "is too long (at most 200 characters)"})
    if errors:
        raise Invalid(errors)
    with transaction.atomic():
        if name and segment is None:
            segment, _ = Segment.objects.update_or_create(name=name, defaults={"filters": clean_filters})
        if newsletter is None:
            newsletter = Newsletter(created_by=author)
        else:
            newsletter.revision += 1
        newsletter.subject, newsletter.html = subject, html
        newsletter.text_generated = not text.strip()
        newsletter.text = text_from_html(html) if newsletter.text_generated else text
        newsletter.segment = segment
        newsletter.filters = segment.filters if segment is not None else clean_filters
        newsletter.save()
    return newsletter


def save_segment(name: str, filters: Any) -> Segment:
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid([{"loc": ["name"], "msg": "give a name of at most 200 characters"}])
    try:
        clean = segments.clean(filters)
    except segments.SegmentError as exc:
        raise Invalid(exc.errors) from None
    segment, _ = Segment.objects.update_or_create(name=name, defaults={"filters": clean})
    return segment
