"""``connectors`` in GET/PATCH /api/v1/settings (SPEC section 8): validated, secrets write-only."""

from __future__ import annotations

from shopmail.connectors.config import secret
from shopmail.connectors.models import Connector


def test_connectors_are_set_and_secrets_never_shown(api):
    answer = api.patch(
        "/settings",
        {
            "connectors": {
                "shopify": {
                    "shop_url": "https://example.myshopify.com/",
                    "access_token": "shpat_secret_token",
                    "webhook_secret": "hook secret",
                    "pull_every_minutes": 15,
                },
                "woocommerce": {
                    "url": "http://shop.example.com",
                    "consumer_key": "ck_1",
                    "consumer_secret": "cs_1",
                },
            }
        },
    )
    assert answer.status_code == 200, answer.content
    shown = answer.json()["connectors"]
    assert shown["shopify"]["shop_url"] == "https://example.myshopify.com"
    assert shown["shopify"]["pull_every_minutes"] == 15
    assert shown["shopify"]["access_token_set"] is True and shown["shopify"]["webhook_secret_set"] is True
    assert shown["woocommerce"]["consumer_secret_set"] is True
    assert shown["woocommerce"]["webhook_secret_set"] is False
    text = api.get("/settings").content.decode()
    assert "shpat_secret_token" not in text and "cs_1" not in text and "hook secret" not in text
    # sealed at rest, readable by the connectors
    stored = Connector.load("shopify")
    assert stored.settings["access_token"].startswith("sealed:v1:")
    assert secret(stored, "access_token") == "shpat_secret_token"


def test_a_secret_left_out_is_kept_and_empty_removes_it(api):
    api.patch("/settings", {"connectors": {"shopify": {"webhook_secret": "first"}}})
    api.patch("/settings", {"connectors": {"shopify": {"pull_every_minutes": 5}}})
    assert secret(Connector.load("shopify"), "webhook_secret") == "first"
    off = {"webhook_secret": "", "pull_every_minutes": None}
    answer = api.patch("/settings", {"connectors": {"shopify": off}})
    assert answer.json()["connectors"]["shopify"]["webhook_secret_set"] is False
    assert "pull_every_minutes" not in answer.json()["connectors"]["shopify"]


def test_bad_connector_settings_are_422_and_change_nothing(api):
    answer = api.patch(
        "/settings",
        {
            "company_name": "Changed",
            "connectors": {
                "shopify": {"shop_url": "http://example.myshopify.com", "pull_every_minutes": 0},
                "woocommerce": {"token": "x"},
            },
        },
    )
    assert answer.status_code == 422
    locs = {tuple(error["loc"]) for error in answer.json()["detail"]}
    assert ("body", "connectors", "shopify", "shop_url") in locs
    assert ("body", "connectors", "shopify", "pull_every_minutes") in locs
    assert ("body", "connectors", "woocommerce", "token") in locs
    assert api.get("/settings").json()["company_name"] != "Changed"
    assert Connector.load("shopify").settings == {}
