"""Templates through the API: validated saves, versions, restore, preview against real orders."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.mail import links
from shopmail.mail.models import TemplateVersion

pytestmark = pytest.mark.django_db


def test_get_default_template_lists_variables(api):
    body = api.get("/templates/order_confirmed/en").json()
    assert body["is_default"] is True and body["subject"] and body["html"] and body["text"]
    names = {variable["name"] for variable in body["variables"]}
    assert "order.number" in names and "custom_message" in names


def test_unknown_notification_or_language_is_422(api):
    assert api.get("/templates/nope/en").status_code == 422
    assert api.get("/templates/order_confirmed/xx").status_code == 422


def test_syntax_error_is_refused_with_line_and_nothing_stored(api):
    response = api.put(
        "/templates/order_confirmed/en",
        {"subject": "Order {{ order.number }}", "text": "Hello\n{% if %}\n", "html": "<p>Hi</p>"},
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "text"] and problem["line"] == 2
    assert TemplateVersion.objects.count() == 0


def test_unknown_variable_is_refused(api):
    response = api.put(
        "/templates/order_confirmed/en",
        {
            "subject": "Order {{ order.number }}",
            "text": "{% if false %}{{ secret_thing }}{% endif %}",
            "html": "<p>{{ order.nonexistent_field }}</p>",
        },
    )
    assert response.status_code == 422
    messages = " ".join(p["msg"] for p in response.json()["detail"])
    assert "secret_thing" in messages and "order.nonexistent_field" in messages


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''|attr('format') }}",
        "{{ order.lines.append(1) }}",
        "{{ customer.update({'email': 'x'}) }}",
        "{{ '{0.__class__}'.format(customer) }}",
        "{{ 'a' * 10**9 }}",
    ],
)
def test_sandbox_escapes_are_refused(api, escape):
    response = api.put("/templates/order_confirmed/en", {"subject": "x", "text": escape, "html": "<p>x</p>"})
    assert response.status_code == 422
    assert TemplateVersion.objects.count() == 0


def test_valid_save_then_preview_then_restore(api):
    api.put("/orders/1", order("1", status="processing"))
    saved = api.put(
        "/templates/order_confirmed/en",
        {
            "subject": "Thanks for order {{ order.number }}!",
            "text": "Dear {{ customer.first_name }}, thanks.",
            "html": "<p>Dear {{ customer.first_name }}, thanks.</p>",
        },
    )
    assert saved.status_code == 200 and saved.json()["version"].startswith("v")
    preview = api.get("/templates/order_confirmed/en/preview?order=1").json()
    assert preview["subject"] == "Thanks for order 1!"
    assert "Dear Ana, thanks." in preview["text"] and "Dear Ana, thanks." in preview["html"]
    sample = api.get("/templates/order_confirmed/en/preview").json()
    assert sample["subject"].startswith("Thanks for order ")
    restored = api.delete("/templates/order_confirmed/en").json()
    assert restored["is_default"] is True
    assert TemplateVersion.objects.count() == 2  # history kept
    assert api.get("/templates/order_confirmed/en/preview?order=missing").status_code == 404


def test_template_list(api):
    items = api.get("/templates").json()["items"]
    assert {(i["notification"], i["language"]) for i in items} >= {
        ("order_shipped", "nb"),
        ("newsletter", "de"),
    }


def test_order_url_is_signed_and_bound_to_its_order():
    token = links.order_token("10023")
    assert links.order_from_token(token) == "10023"
    assert links.order_from_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert links.order_from_token(links.backorder_token("10023", "one_shipment")) is None  # other salt
    assert "/account/order/" in links.order_url("10023")
    _, _, signature = token.partition(":")
    assert links.order_from_token(links.order_token("10024").partition(":")[0] + ":" + signature) is None
