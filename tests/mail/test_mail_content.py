"""What the customer reads in order e-mails (issue 20): line kinds, download instructions, the
language fallback, milestones not listed as news, a long first line of a custom message."""

# ruff: noqa: RUF001 - the e-mails use the multiplication sign and typographic quotes
from __future__ import annotations

import pytest

from factories import evolve, order, shipment
from fixtures.customer_kit import rendered
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message

pytestmark = pytest.mark.django_db(transaction=False)


def mixed(order_id: str = "M-1", language: str = "en", status: str = "processing", **overrides):
    data = order(order_id, status=status, **overrides)
    data["customer"]["language"] = language
    data["lines"] = [
        {"id": "1", "sku": "LAMP", "name": "Lamp", "quantity": 1, "unit_price": "49.00"},
        {"id": "2", "sku": "CHAIR", "name": "Chair", "quantity": 2, "unit_price": "80.00"},
        {
            "id": "3",
            "sku": "PHOTOPRO",
            "name": "PhotoPro software",
            "quantity": 1,
            "unit_price": "99.00",
            "kind": "download",
            "download": {
                "url": "https://dl.example.com/photopro",
                "license_keys": ["AAAA-BBBB"],
                "instructions": "Line note: use the key once.",
            },
        },
    ]
    return data


def mail(notification: str, order_id: str = "M-1"):
    message = Message.objects.filter(notification=notification, order__external_id=order_id).get()
    return rendered(message)


def put(*snapshots):
    for snapshot in snapshots:
        result = ingest(orders=[snapshot])
        assert not result.rejected, result


# 1. downloads are not goods to ship


def test_mixed_order_last_physical_shipment_sends_order_shipped_without_the_download(store):
    first = mixed()
    second = evolve(first, 30, shipments=[shipment("s1", {"1": 1})])
    third = evolve(second, 60, shipments=[shipment("s1", {"1": 1}), shipment("s2", {"2": 2})])
    put(first, second, third)
    partial = mail("order_partially_shipped")
    assert "- 2 × Chair" in partial.text and "× PhotoPro" not in partial.html.split("Still to come")[-1]
    assert "- 1 × PhotoPro" not in partial.text
    done = mail("order_shipped")
    assert "STILL TO COME" not in done.text and "Still to come" not in done.html


def test_a_line_kind_that_is_not_known_is_refused(api):
    data = mixed()
    data["lines"][2]["kind"] = "digital"
    response = api.put("/orders/M-1", data)
    assert response.status_code == 422
    assert "kind must be one of physical, download, service" in response.content.decode()


# 2. a product's download instructions reach the confirmation


def test_product_download_instructions_reach_the_confirmation(api):
    assert (
        api.put(
            "/products/PHOTOPRO",
            {"name": "PhotoPro", "download_instructions": "Product note: install with admin rights."},
        ).status_code
        == 200
    )
    assert api.put("/orders/M-1", mixed()).status_code == 200
    confirmation = mail("order_confirmed")
    for part in (confirmation.text, confirmation.html):
        assert "Product note: install with admin rights." in part
        assert "Line note: use the key once." in part


# 3. the language fallback: customer, base language, store, English


@pytest.mark.parametrize(
    ("customer", "store_default", "expected"),
    [("fr", "de", "de"), ("nb-NO", "de", "nb"), ("fr", "en", "en"), ("de-AT", "nb", "de")],
)
def test_language_falls_back_to_base_then_store_then_english(store, customer, store_default, expected):
    from shopmail.mail import templates

    store.default_language = store_default
    store.save()
    assert templates.language_of("order_confirmed", customer, store_default) == expected
    put(mixed(language=customer))
    words = {"de": "Vielen Dank", "nb": "Takk", "en": "Thank you"}
    assert words[expected] in mail("order_confirmed").text


def test_staff_add_a_language_by_saving_templates_for_it(store):
    from shopmail.mail import editing

    store.default_language = "de"
    store.save()
    editing.save(
        "order_confirmed",
        "fr",
        {
            "subject": "Commande {{ order.number }} confirmée",
            "text": "Merci {{ customer.first_name }} !",
            "html": "<p>Merci {{ customer.first_name }} !</p>",
        },
    )
    put(mixed("F-1", language="fr-CA"), mixed("F-2", language="fr", status="pending"))
    confirmation = mail("order_confirmed", "F-1")
    assert confirmation.subject == "Commande F-1 confirmée"
    assert "Merci Ana" in confirmation.text
    # no French order_received template: the store's language, not English
    assert "Bestellung" in mail("order_received", "F-2").subject


# 4. milestones are not news in their own e-mail; descriptions in the customer's language


@pytest.mark.parametrize("language", ["en", "nb", "de"])
def test_confirmation_does_not_list_itself_as_news(store, language):
    put(mixed(language=language))
    confirmation = mail("order_confirmed")
    for part in (confirmation.text, confirmation.html):
        assert "Order confirmed" not in part
        assert "What's new" not in part and "What’s new" not in part


@pytest.mark.parametrize("language", ["nb", "de"])
def test_shipment_mails_have_no_english_descriptions(store, language):
    first = mixed(language=language)
    posten = {**shipment("s1", {"1": 1}), "carrier": "Posten"}
    second = evolve(first, 30, picked=True, shipments=[posten])
    second["lines"][1]["expected_delivery_date"] = "2026-12-09"
    put(first, second)
    partial = mail("order_partially_shipped")
    for part in (partial.text, partial.html):
        for english in (
            "Part of your order",
            "Your order has been shipped",
            "Expected delivery of",
            "has been picked",
            "Order confirmed",
        ):
            assert english not in part, (english, part)


# 8. a custom message whose first line is long is there once


def test_long_first_line_of_a_custom_message_appears_once(store):
    from shopmail.mail import actions

    put(mixed())
    long_line = "We packed your lamp with extra care because the glass shade is fragile and hand-blown."
    assert len(long_line) > 72
    order_row = Message.objects.get(notification="order_confirmed").order
    actions.notify(order_row, "order_confirmed", custom_message=long_line + "\nSecond line.")
    message = Message.objects.filter(notification="order_confirmed").order_by("-pk").first()
    text = rendered(message).text
    assert text.count("hand-blown") == 1, text


def test_an_added_language_is_listed_by_the_api_and_the_panel(api, client):
    from django.contrib.auth import get_user_model

    body = {"subject": "Commande {{ order.number }}", "text": "Merci !", "html": "<p>Merci !</p>"}
    assert api.put("/templates/order_confirmed/fr", body).status_code == 200
    listed = api.get("/templates").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert {("order_confirmed", "fr"), ("order_shipped", "fr")} <= {
        (item["notification"], item["language"]) for item in items
    }
    user = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(user)
    page = client.get("/admin/templates/").content.decode()
    assert "/admin/templates/order_confirmed/fr/" in page


def test_a_restored_default_removes_the_added_language(store):
    from shopmail.mail import editing, templates

    body = {"subject": "Commande {{ order.number }}", "text": "Merci !", "html": "<p>Merci !</p>"}
    editing.save("order_confirmed", "fr", body)
    assert templates.language_of("order_confirmed", "fr", "de") == "fr"
    editing.restore_default("order_confirmed", "fr")
    assert templates.language_of("order_confirmed", "fr", "de") == "de"
