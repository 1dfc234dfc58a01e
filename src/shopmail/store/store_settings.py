"""The store-settings service (SPEC section 2, ``GET``/``PATCH /api/v1/settings``): one for the
API and the control panel, made of sections that the apps owning them register.

A section takes some top-level keys of the settings (the fields of its Pydantic model), shows
its part of the public view (secrets write-only: ``password_set``, never the password), checks
what its model cannot (a key against the notification registry, a DKIM key against its domain)
and writes a checked part: into ``StoreSettings`` (saved once, here) or into its own tables (the
connectors, the webhooks). Apps register their sections from ``AppConfig.ready()``, like the
``/metrics`` sections and the composers, so the store never imports the apps above it.

``patch(body)`` validates the whole body against every section before anything is written, and
writes nothing when any part is wrong: ``Rejected`` names every bad field (``loc`` from
``"body"``), which the API answers as 422 and the panel shows beside its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.core.exceptions import AppRegistryNotReady
from django.db import transaction
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from shopmail.core.errors import Rejected, pydantic_errors
from shopmail.store.models import StoreSettings

Part = TypeVar("Part", bound=BaseModel)
Problem = dict[str, Any]  # {"loc": ["body", ...], "msg": ...}


def no_problems(settings: StoreSettings, part: Any) -> list[Problem]:
    return []


@dataclass(frozen=True)
class Section(Generic[Part]):
    """One part of the store settings, kept by the app that owns it.

    ``model``: its top-level keys, as the fields of a Pydantic model (each optional: a key left
    out or ``null`` is not changed). ``view``: its keys of ``GET``, secrets shown only as
    ``<name>_set``. ``check``: every problem its model cannot see, given the stored settings.
    ``apply``: write a checked part (only the keys given are set in it); what it sets on
    ``StoreSettings`` is saved by ``patch``.
    """

    name: str
    model: type[Part]
    view: Callable[[StoreSettings], Mapping[str, Any]]
    apply: Callable[[StoreSettings, Part], None]
    check: Callable[[StoreSettings, Part], list[Problem]] = no_problems


_SECTIONS: list[Section[Any]] = []


def register(section: Section[Any]) -> None:
    """Add (or, by the same name, replace) a section; called from its app's ``AppConfig.ready()``.
    A key belongs to one section only."""
    others = [existing for existing in _SECTIONS if existing.name != section.name]
    taken = {key: other.name for other in others for key in other.model.model_fields}
    clash = sorted(key for key in section.model.model_fields if key in taken)
    if clash:
        owner = taken[clash[0]]
        raise ValueError(f"settings section {section.name!r}: {', '.join(clash)} taken by {owner!r}")
    for index, existing in enumerate(_SECTIONS):
        if existing.name == section.name:
            _SECTIONS[index] = section
            return
    _SECTIONS.append(section)


def sections() -> tuple[Section[Any], ...]:
    if not apps.ready:  # a section registered later would be missing without a word
        raise AppRegistryNotReady("the settings sections are registered by the apps' ready()")
    return tuple(_SECTIONS)


def patch_model() -> type[BaseModel]:
    """Every section's keys as one model: what ``PATCH`` takes (and the OpenAPI document shows)."""
    return _combined(sections())


@lru_cache(maxsize=4)
def _combined(parts: tuple[Section[Any], ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        key: (info.annotation, info) for section in parts for key, info in section.model.model_fields.items()
    }
    return create_model("SettingsPatch", __config__=ConfigDict(extra="forbid"), **fields)


def view(settings: StoreSettings | None = None) -> dict[str, Any]:
    """The settings as ``GET /api/v1/settings`` shows them: every section's part, no secret."""
    settings = StoreSettings.load() if settings is None else settings
    shown: dict[str, Any] = {}
    for section in sections():
        shown.update(section.view(settings))
    return shown


def patch(body: Mapping[str, Any], settings: StoreSettings | None = None) -> StoreSettings:
    """Change the keys ``body`` gives; all of them or, raising ``Rejected``, none."""
    settings = StoreSettings.load() if settings is None else settings
    everything = sections()
    try:
        whole = _combined(everything).model_validate(body)
    except ValidationError as exc:
        raise Rejected(pydantic_errors(exc, ["body"])) from None
    given = [(section, part) for section in everything if (part := _part(section, whole)) is not None]
    problems = [problem for section, part in given for problem in section.check(settings, part)]
    if problems:
        raise Rejected(problems)
    with transaction.atomic():
        for section, part in given:
            section.apply(settings, part)
        settings.save()
    return settings


def _part(section: Section[Part], whole: BaseModel) -> Part | None:
    """The section's keys that ``body`` gives (``null`` is not a change), or ``None``."""
    values = {
        key: getattr(whole, key)
        for key in section.model.model_fields
        if key in whole.model_fields_set and getattr(whole, key) is not None
    }
    return section.model.model_construct(_fields_set=set(values), **values) if values else None
