"""The simple editor (issue 27): per notification and language, a subject line and an "extra
text" above or below the standard body, without template code.

A simple save is an ordinary template version: its subject, text and HTML are the packaged
default with the owner's subject and extra text composed in (``render.extra.compose``), checked
by the same ``rendering.validate`` as the full editor's, and it goes live the same way. What the
owner typed is kept beside it (``simple_subject``, ``extra_text``, ``extra_position``) so the
simple editor opens on it again; saving again composes it with the packaged default of that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopmail.mail import editing, rendering
from shopmail.mail.models import TemplateVersion
from shopmail.mail.notifications import NOTIFICATIONS
from shopmail.mail.render import extra
from shopmail.mail.rendering import sample_context


@dataclass(frozen=True)
class SimpleDraft:
    subject: str = ""
    extra_text: str = ""
    position: str = "bottom"


class SimpleRefused(ValueError):
    def __init__(self, problems: list[dict[str, Any]]):
        super().__init__("; ".join(p["msg"] for p in problems))
        self.problems = problems  # each {"field": "subject" | "extra_text" | "position", "msg": ...}


def live(notification: str, language: str) -> tuple[SimpleDraft, TemplateVersion | None]:
    """What the simple editor opens on, and the live version (None: the packaged default)."""
    version = TemplateVersion.objects.filter(notification=notification, language=language).first()
    if version is None or version.restored_default:
        return SimpleDraft(), None
    if version.simple:
        return SimpleDraft(version.simple_subject, version.extra_text, version.extra_position), version
    return SimpleDraft(), version


def _field_of(part: str) -> str:
    return "subject" if part == "subject" else "extra_text"


def check(
    notification: str, language: str, draft: SimpleDraft
) -> tuple[rendering.TemplateSource, list[dict[str, Any]]]:
    """The composed template and its problems (the full editor's checks, named by field)."""
    problems: list[dict[str, Any]] = []
    if draft.position not in extra.POSITIONS:
        problems.append({"field": "position", "msg": "choose above or below the standard text"})
    if len(draft.subject) > extra.MAX_SUBJECT or "\x00" in draft.subject:
        problems.append(
            {"field": "subject", "msg": f"must be text of at most {extra.MAX_SUBJECT} characters"}
        )
    if len(draft.extra_text) > extra.MAX_EXTRA or "\x00" in draft.extra_text:
        problems.append(
            {"field": "extra_text", "msg": f"must be text of at most {extra.MAX_EXTRA} characters"}
        )
    standard = rendering.default_source(notification, language)
    if draft.extra_text.strip() and not extra.has_slot(standard):
        problems.append({"field": "extra_text", "msg": "this e-mail has no place for extra text"})
    if problems:
        return standard, problems
    source = extra.compose(standard, draft.subject, draft.extra_text, draft.position)
    seen: set[tuple[str, str]] = set()
    for problem in rendering.validate(notification, source, language):
        key = (_field_of(problem.part), problem.reason)  # the HTML and text part say the same
        if key not in seen:
            seen.add(key)
            problems.append({"field": key[0], "msg": problem.reason})
    return source, problems


def save(notification: str, language: str, draft: SimpleDraft, author: str = "") -> TemplateVersion:
    source, problems = check(notification, language, draft)
    if problems:
        raise SimpleRefused(problems)
    return editing.store_version(
        notification,
        language,
        source,
        author,
        simple=True,
        simple_subject=" ".join(draft.subject.split()),
        extra_text=draft.extra_text,
        extra_position=draft.position,
    )


def _lookup(context: Any, path: str) -> Any:
    for name in path.split("."):
        if not isinstance(context, dict) or name not in context:
            return None
        context = context[name]
    return context


def insertable_variables(
    notification: str, language: str, store: dict[str, Any] | None = None
) -> list[dict[str, str]]:
    """The variables an owner can click into the text: those printing one value (not lists), each
    with its description and its value on the sample order."""
    context = sample_context(notification, language, store=store)
    out = []
    for variable in NOTIFICATIONS[notification].variables:
        if "[" in variable.name:
            continue
        value = _lookup(context, variable.name)
        if isinstance(value, (dict, list, tuple)):
            continue
        out.append(
            {
                "name": variable.name,
                "description": variable.description,
                "sample": "" if value is None else str(value),
            }
        )
    return out


def standard_subject(notification: str, language: str, store: dict[str, Any] | None = None) -> str:
    """The packaged subject rendered on the sample order (the simple editor's placeholder)."""
    context = sample_context(notification, language, store=store)
    return rendering.render(notification, language, context).subject
