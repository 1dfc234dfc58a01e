"""The store-settings service (``store.store_settings``): sections registered by the apps that own
them, one patch validated whole before anything is written, secrets never in the view."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from shopmail.connectors.models import Connector
from shopmail.core.errors import Rejected
from shopmail.domain import dkim
from shopmail.mail.webhooks.models import Endpoint
from shopmail.store import store_settings
from shopmail.store.models import StoreSettings
from shopmail.store.store_settings import Section

pytestmark = pytest.mark.django_db


class LoyaltyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points_per_order: int = Field(ge=0, le=1000)


class LoyaltyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loyalty: LoyaltyIn | None = None


class Loyalty:
    """A section of a made-up app that keeps its value outside ``StoreSettings``."""

    def __init__(self) -> None:
        self.points = 0
        self.applied: list[dict[str, Any]] = []

    def view(self, settings: StoreSettings) -> dict[str, Any]:
        return {"loyalty": {"points_per_order": self.points}}

    def check(self, settings: StoreSettings, part: LoyaltyPatch) -> list[dict[str, Any]]:
        assert part.loyalty is not None
        if part.loyalty.points_per_order == 13:
            return [{"loc": ["body", "loyalty", "points_per_order"], "msg": "is unlucky"}]
        return []

    def apply(self, settings: StoreSettings, part: LoyaltyPatch) -> None:
        assert part.loyalty is not None
        self.applied.append(part.model_dump(exclude_unset=True))
        self.points = part.loyalty.points_per_order


@pytest.fixture
def loyalty(monkeypatch):
    """The loyalty section registered for one test (the registry as it was afterwards)."""
    monkeypatch.setattr(store_settings, "_SECTIONS", list(store_settings._SECTIONS))
    section = Loyalty()
    store_settings.register(Section("loyalty", LoyaltyPatch, section.view, section.apply, section.check))
    return section


def _locs(exc: pytest.ExceptionInfo[Rejected]) -> set[tuple[Any, ...]]:
    return {tuple(error["loc"]) for error in exc.value.errors}


def test_a_registered_section_takes_its_keys_shows_them_and_is_documented(store, loyalty):
    assert store_settings.view()["loyalty"] == {"points_per_order": 0}
    assert "loyalty" in store_settings.patch_model().model_json_schema()["properties"]

    saved = store_settings.patch({"loyalty": {"points_per_order": 5}, "company_name": "Renamed"})
    assert loyalty.applied == [{"loyalty": {"points_per_order": 5}}]
    assert store_settings.view(saved)["loyalty"] == {"points_per_order": 5}
    assert StoreSettings.load().company_name == "Renamed"

    store_settings.patch({"company_name": "Again"})  # a section whose keys are not given is left alone
    assert len(loyalty.applied) == 1
    with pytest.raises(Rejected) as refused:
        store_settings.patch({"loyalty": {"points_per_order": -1}})
    assert _locs(refused) == {("body", "loyalty", "points_per_order")}


def test_a_key_belongs_to_one_section_and_a_name_registers_once(store, loyalty):
    class Clash(BaseModel):
        company_name: str | None = None

    with pytest.raises(ValueError, match="company_name"):
        store_settings.register(Section("clash", Clash, lambda settings: {}, lambda settings, part: None))
    count = len(store_settings.sections())
    again = Loyalty()
    store_settings.register(Section("loyalty", LoyaltyPatch, again.view, again.apply))
    assert len(store_settings.sections()) == count
    store_settings.patch({"loyalty": {"points_per_order": 7}})
    assert again.points == 7 and loyalty.points == 0


def test_an_unknown_key_is_refused_and_changes_nothing(store):
    with pytest.raises(Rejected) as refused:
        store_settings.patch({"company_name": "Changed", "colour_scheme": "dark"})
    assert _locs(refused) == {("body", "colour_scheme")}
    assert StoreSettings.load().company_name == "Test Shop"


def test_two_sections_invalid_by_their_models_change_nothing(store, loyalty):
    with pytest.raises(Rejected) as refused:
        store_settings.patch(
            {
                "company_name": "Changed",
                "transport": {"kind": "pigeon"},
                "branding": {"accent_color": "red"},
                "loyalty": {"points_per_order": 5},
            }
        )
    assert _locs(refused) == {("body", "transport", "kind"), ("body", "branding", "accent_color")}
    assert loyalty.applied == []
    stored = StoreSettings.load()
    assert stored.company_name == "Test Shop" and stored.transport == {"kind": "capture"}


def test_two_sections_invalid_by_their_checks_change_nothing_anywhere(store, loyalty):
    """Every section is checked before any writes: not the store row, not a section's own table."""
    with pytest.raises(Rejected) as refused:
        store_settings.patch(
            {
                "company_name": "Changed",
                "time_zone": "Mars/Olympus",
                "notifications": {"order_confirmed": False, "no_such_mail": True},
                "loyalty": {"points_per_order": 13},
                "connectors": {"shopify": {"pull_every_minutes": 5}},
            }
        )
    assert _locs(refused) == {
        ("body", "time_zone"),
        ("body", "notifications", "no_such_mail"),
        ("body", "loyalty", "points_per_order"),
    }
    assert loyalty.applied == []
    assert Connector.load("shopify").settings == {}
    stored = StoreSettings.load()
    assert stored.company_name == "Test Shop" and stored.time_zone == "UTC" and stored.notifications == {}


def test_a_write_that_fails_undoes_the_writes_before_it(store, monkeypatch):
    monkeypatch.setattr(store_settings, "_SECTIONS", list(store_settings._SECTIONS))

    def broken(settings: StoreSettings, part: LoyaltyPatch) -> None:
        raise RuntimeError("disk full")

    store_settings.register(Section("loyalty", LoyaltyPatch, lambda settings: {}, broken))
    assert store_settings.sections()[-1].name == "loyalty"  # written after the connectors
    with pytest.raises(RuntimeError):
        store_settings.patch(
            {
                "company_name": "Changed",
                "connectors": {"shopify": {"pull_every_minutes": 5}},
                "loyalty": {"points_per_order": 1},
            }
        )
    assert Connector.load("shopify").settings == {}
    assert StoreSettings.load().company_name == "Test Shop"


def test_no_secret_is_ever_in_the_view(store):
    secrets = {
        "smtp": "smtp-pass-4711",
        "dkim": dkim.generate_key(2048),
        "webhook": "whsec_" + base64.b64encode(b"webhook-secret-0123456789abcdef").decode(),
        "token": "shpat_token_4711",
        "hook": "shopify-hook-4711",
        "consumer": "cs_4711",
    }
    store_settings.patch(
        {
            "transport": {"kind": "smtp", "host": "mail.shop.test", "password": secrets["smtp"]},
            "dkim": {"domain": "shop.test", "selector": "sm1", "private_key": secrets["dkim"]},
            "webhooks": [{"url": "https://hooks.shop.test/in", "secret": secrets["webhook"]}],
            "connectors": {
                "shopify": {"access_token": secrets["token"], "webhook_secret": secrets["hook"]},
                "woocommerce": {"consumer_key": "ck_1", "consumer_secret": secrets["consumer"]},
            },
        }
    )
    shown = store_settings.view()
    text = json.dumps(shown)
    for name, value in secrets.items():
        assert value not in text, name
    assert secrets["dkim"].splitlines()[1] not in text  # not even one line of the key
    assert "sealed:" not in text  # nor a sealed one
    assert shown["transport"]["password_set"] is True
    assert shown["dkim"]["private_key_set"] is True
    assert shown["webhooks"][0]["secret_set"] is True
    assert shown["connectors"]["shopify"]["access_token_set"] is True
    assert shown["connectors"]["woocommerce"]["consumer_secret_set"] is True
    # and the values are there, sealed, for the code that uses them
    assert StoreSettings.load().transport["password"].startswith("sealed:")
    assert Endpoint.objects.get().secret.startswith("sealed:")
