"""Notifications named in words for the control panel, in the active language.

One source: the English name is ``Notification.title`` in the registry
(``mail/notifications.py``); its Norwegian and German names are in the ``django`` gettext
catalogs (``locale/{nb,de}/LC_MESSAGES/django.po``), the same catalogs as the customer pages.
"""

from __future__ import annotations

from django.utils.translation import gettext

from shopmail.mail.notifications import NOTIFICATIONS


def notification_name(key: str) -> str:
    """``order_confirmed`` -> "Order confirmation" (nb "Ordrebekreftelse"); an unknown key as is."""
    spec = NOTIFICATIONS.get(str(key))
    return gettext(spec.title) if spec is not None else str(key)


def notification_choices(keys: tuple[str, ...] | list[str] | None = None) -> list[tuple[str, str]]:
    """(key, name) pairs for a select, in the registry's order."""
    return [(key, notification_name(key)) for key in (NOTIFICATIONS if keys is None else keys)]
