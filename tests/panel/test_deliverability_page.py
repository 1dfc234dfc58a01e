"""The panel's Deliverability page: the DKIM record to publish, the DNS check, the suppression list."""

from __future__ import annotations

import pytest

from shopmail.domain import dkim
from shopmail.mail import signing
from shopmail.mail.deliverability import suppression
from shopmail.mail.deliverability.models import Suppression
from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db


def test_page_needs_staff(client, store):
    response = client.get("/admin/deliverability/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_page_shows_the_record_to_publish_and_never_the_key(staff, store):
    pem = dkim.generate_key(1024)
    signer = signing.store_key(StoreSettings.load(), "shop.test", "sm1", pem)
    page = staff.get("/admin/deliverability/").content.decode()
    assert "sm1._domainkey.shop.test. IN TXT" in page
    assert signer.dns_record()[:60] in page
    assert pem.splitlines()[1] not in page and "PRIVATE KEY" not in page


def test_page_without_dkim_says_how_to_set_it_up(staff, store):
    page = staff.get("/admin/deliverability/").content.decode()
    assert "shopmail dkim generate" in page and "not signed yet" in page


def test_suppression_list_search_and_remove(staff, store):
    suppression.suppress(
        "gone@example.com", "hard_bounce", "all", "550 5.1.1 <gone@example.com>: user unknown"
    )
    suppression.suppress("angry@example.com", "complaint", "newsletter", "abuse")
    page = staff.get("/admin/deliverability/").content.decode()
    assert "gone@example.com" in page and "bounced" in page and "user unknown" in page
    assert "angry@example.com" in page and "marked as spam" in page and "newsletters only" in page
    found = staff.get("/admin/deliverability/?q=gone").content.decode()
    assert "gone@example.com" in found and "angry@example.com" not in found
    response = staff.post("/admin/deliverability/remove/", {"email": "gone@example.com"})
    assert response.status_code == 302
    assert list(Suppression.objects.values_list("email", flat=True)) == ["angry@example.com"]


def test_remove_needs_csrf(store, staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    suppression.suppress("gone@example.com", "hard_bounce", "all")
    assert client.post("/admin/deliverability/remove/", {"email": "gone@example.com"}).status_code == 403
    assert Suppression.objects.count() == 1
