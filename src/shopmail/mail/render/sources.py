"""The packaged templates: every notification's default in each language, and the layouts,
partials and stylesheet they share (under ``_layout``)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from shopmail.mail.notifications import DEFAULT_LANGUAGE
from shopmail.mail.notifications import get as get_notification
from shopmail.mail.render.types import TemplateSource

_PARTIALS_DIR = "_layout"


def _emails() -> Any:
    return resources.files("shopmail").joinpath("emails")


@cache
def _read(path: str) -> str | None:
    node = _emails().joinpath(*path.split("/"))
    return node.read_text(encoding="utf-8") if node.is_file() else None


@cache
def _partial_names() -> frozenset[str]:
    names: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith((".html", ".txt")):
                names.add(prefix + child.name)

    walk(_emails().joinpath(_PARTIALS_DIR), "")
    return frozenset(names)


_CSS_COMMENT = re.compile(r"/\*.*?\*/\s*", re.DOTALL)


def _stylesheet() -> str:
    """The e-mail stylesheet without its comments (notes for whoever edits it; the rules with
    an at-rule are kept in a ``<style>`` of every message, and the notes went along)."""
    return _CSS_COMMENT.sub("", _read(f"{_PARTIALS_DIR}/email.css") or "")


@cache
def default_source(notification: str, language: str) -> TemplateSource:
    """The packaged default template of a notification, in ``language`` or else English."""
    get_notification(notification)
    # a language's own copy (an override), else the one template whose sentences are in the
    # catalogs (mail/render/i18n.py), else the English copy of a notification not converted yet
    for folder in dict.fromkeys(
        (f"{notification}/{language}", notification, f"{notification}/{DEFAULT_LANGUAGE}")
    ):
        parts = [_read(f"{folder}/{name}") for name in ("subject.txt", "body.txt", "body.html")]
        if all(part is not None for part in parts):
            subject, text, html = (part or "" for part in parts)
            return TemplateSource(subject.strip(), text, html)
    raise LookupError(f"no default template for {notification!r}")
