"""Contact details and settings on My page, reported to the shop as customer.updated."""

from __future__ import annotations

from django.test import Client

from fixtures.customer_kit import PASSWORD, sign_in
from shopmail.store.models import Customer, FeedEvent

XSS = "<img src=x onerror=alert(1)>"


def details(**overrides):
    data = {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.com", "phone": "", "country": ""}
    data.update(overrides)
    return data


def test_contact_details_change_is_saved_and_in_the_feed(api, ana, ana_client):
    page = ana_client.get("/account/details/")
    assert page.status_code == 200 and b'value="Silva"' in page.content
    response = ana_client.post("/account/details/", details(last_name="Silva Santos", phone="+47 912 34 567"))
    assert response.status_code == 302
    customer = Customer.objects.get(pk=ana.pk)
    assert customer.last_name == "Silva Santos" and customer.data["phone"] == "+47 912 34 567"
    [item] = api.get("/feed").json()["items"]
    assert item["type"] == "customer.updated"
    data = item["data"]
    assert data["customer"] == "c-ana" and data["changed"] == ["last_name", "phone"]
    assert data["changes"]["last_name"] == {"before": "Silva", "after": "Silva Santos"}
    assert data["fields"]["phone"] == "+47 912 34 567"
    # nothing changed: nothing recorded
    ana_client.post("/account/details/", details(last_name="Silva Santos", phone="+47 912 34 567"))
    assert FeedEvent.objects.count() == 1


def test_changing_the_address_needs_the_password_and_then_signs_in_with_it(ana, ana_client):
    refused = ana_client.post("/account/details/", details(email="ana.new@example.com"))
    assert refused.status_code == 400 and b"current password" in refused.content
    assert Customer.objects.get(pk=ana.pk).email == "ana@example.com"
    done = ana_client.post(
        "/account/details/", details(email="ana.new@example.com", current_password=PASSWORD)
    )
    assert done.status_code == 302
    assert Customer.objects.get(pk=ana.pk).email == "ana.new@example.com"
    assert ana_client.get("/account/").status_code == 200, "still signed in"
    sign_in(Client(), "ana.new@example.com")
    assert (
        Client().post("/account/login/", {"email": "ana@example.com", "password": PASSWORD}).status_code
        == 400
    )


def test_invalid_details_are_refused(ana_client):
    assert ana_client.post("/account/details/", details(email="not-an-address")).status_code == 400
    assert ana_client.post("/account/details/", details(country="Norway")).status_code == 400
    assert ana_client.post("/account/details/", details(phone="call me")).status_code == 400


def test_markup_in_details_is_stored_as_text_and_escaped(ana, ana_client):
    ana_client.post("/account/details/", details(first_name=XSS))
    assert Customer.objects.get(pk=ana.pk).first_name == XSS
    for path in ("/account/details/", "/account/"):
        page = ana_client.get(path).content.decode()
        assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_newsletter_consent_time_and_language(api, ana, ana_client):
    page = ana_client.get("/account/settings/").content.decode()
    assert "You are not subscribed" in page
    ana_client.post("/account/settings/", {"newsletter_opt_in": "on", "language": "nb"})
    customer = Customer.objects.get(pk=ana.pk)
    assert (
        customer.newsletter_opt_in and customer.newsletter_opt_in_at is not None and customer.language == "nb"
    )
    # the page now speaks the customer's new language (SPEC 7)
    assert "Du meldte deg på" in ana_client.get("/account/settings/").content.decode()
    ana_client.post("/account/settings/", {"language": "nb"})
    customer.refresh_from_db()
    assert not customer.newsletter_opt_in and customer.newsletter_opt_in_at is None
    items = api.get("/feed").json()["items"]
    assert [item["data"]["changed"] for item in items] == [
        ["language", "newsletter_opt_in", "newsletter_opt_in_at"],
        ["newsletter_opt_in", "newsletter_opt_in_at"],
    ]
    assert items[0]["data"]["fields"]["newsletter_opt_in_at"] is not None
    assert ana_client.post("/account/settings/", {"language": "xx"}).status_code == 400


def test_profile_pages_need_a_signed_in_customer(ana):
    client = Client()
    for path in ("/account/details/", "/account/settings/", "/account/password/", "/account/helpdesk/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/account/login/"), path
    assert client.post("/account/details/", details(first_name="Mallory")).status_code == 302
    assert Customer.objects.get(pk=ana.pk).first_name == "Ana"


def test_pages_are_not_cached_and_forbid_scripts(ana_client):
    response = ana_client.get("/account/")
    assert "no-store" in response["Cache-Control"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
