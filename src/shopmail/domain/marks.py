"""Marking words for the gettext catalogs in plain Python (``scripts/messages`` extracts calls of
``gettext_noop`` and ``_``); they are translated where they are shown, in the reader's language.
Nothing is translated here, so the domain and the notification registry stay free of Django."""

from __future__ import annotations


def gettext_noop(message: str) -> str:
    """The message as it is: a marker for extraction only."""
    return message
