"""The wizard's pages with Django's test client: staff only, each step, the live count."""

from __future__ import annotations

import pytest
from newsletter_support import customer, order_for

from shopmail.mail.models import Message
from shopmail.newsletter import consent
from shopmail.newsletter.models import Consent, Newsletter, Segment
from shopmail.store.models import Customer

pytestmark = pytest.mark.django_db

HTML = "<h1>Socks</h1><p>Warm feet.</p>"


@pytest.fixture
def people(store):
    ana = customer(1, first_name="Ana", country="NO")
    customer(2, country="SE", language="nb")
    customer(3, country="NO", newsletter_opt_in=False)
    order_for(ana, "o1", skus=("MUG-01",))
    return ana


def test_staff_only(client, store):
    from django.contrib.auth import get_user_model

    for path in ("/admin/newsletters/", "/admin/newsletters/new/", "/admin/newsletters/segment-count/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    clerk = get_user_model().objects.create(username="someone", is_staff=False)
    client.force_login(clerk)
    assert client.get("/admin/newsletters/").status_code == 403


def test_the_wizard_step_by_step(staff, people):
    assert staff.get("/admin/newsletters/").status_code == 200
    assert staff.get("/admin/newsletters/new/").status_code == 200
    response = staff.post(
        "/admin/newsletters/new/", {"subject": "Winter news", "html": HTML, "generate_text": "on", "text": ""}
    )
    letter = Newsletter.objects.get()
    assert response["Location"] == f"/admin/newsletters/{letter.pk}/recipients/"
    assert letter.text == "Socks\n\nWarm feet." and letter.text_generated

    # the text part may be edited by hand
    staff.post(
        f"/admin/newsletters/{letter.pk}/compose/", {"subject": "Winter news", "html": HTML, "text": "Mine."}
    )
    letter.refresh_from_db()
    assert (letter.text, letter.text_generated, letter.revision) == ("Mine.", False, 2)

    page = staff.get(f"/admin/newsletters/{letter.pk}/recipients/")
    assert page.status_code == 200 and b'id="recipient-count">2<' in page.content
    response = staff.post(
        f"/admin/newsletters/{letter.pk}/recipients/", {"country": "no", "save_as": "Norway"}
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.filters == {"country": ["NO"]} and letter.segment == Segment.objects.get(name="Norway")

    preview = staff.get(f"/admin/newsletters/{letter.pk}/preview/?as=c1@example.com")
    assert preview.status_code == 200
    assert b"List-Unsubscribe-Post" in preview.content and b"Winter news" in preview.content
    assert consent.token(people.pk, letter.pk).encode() in preview.content  # Ana's own link

    tested = staff.post(f"/admin/newsletters/{letter.pk}/test/", {"to": "qa@shop.test, boss@shop.test"})
    assert tested.status_code == 302
    assert set(Message.objects.values_list("to_email", flat=True)) == {"qa@shop.test", "boss@shop.test"}

    refused = staff.post(f"/admin/newsletters/{letter.pk}/send/", {"when": "now"})  # not confirmed
    assert refused.status_code == 422
    sent = staff.post(f"/admin/newsletters/{letter.pk}/send/", {"when": "now", "confirm": "on"})
    assert sent["Location"] == f"/admin/newsletters/{letter.pk}/"
    detail = staff.get(f"/admin/newsletters/{letter.pk}/")
    assert b'id="count-recipients">1<' in detail.content and b'id="count-queued">1<' in detail.content
    assert b"c1@example.com" in detail.content
    # no more editing
    assert (
        staff.get(f"/admin/newsletters/{letter.pk}/compose/")["Location"]
        == f"/admin/newsletters/{letter.pk}/"
    )


def test_schedule_needs_a_time(staff, people):
    letter = Newsletter.objects.create(subject="Later", html=HTML)
    response = staff.post(f"/admin/newsletters/{letter.pk}/send/", {"when": "later", "confirm": "on"})
    assert response.status_code == 422 and b"Choose the time" in response.content
    response = staff.post(
        f"/admin/newsletters/{letter.pk}/send/",
        {"when": "later", "at": "2030-05-01T08:00", "rate_per_hour": "500", "confirm": "on"},
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.scheduled_at.isoformat() == "2030-05-01T08:00:00+00:00" and letter.rate_per_hour == 500
    assert b"scheduled" in staff.get(f"/admin/newsletters/{letter.pk}/").content


def test_live_count(staff, people):
    def count(query: str):
        return staff.get(f"/admin/newsletters/segment-count/?{query}")

    assert count("").json()["count"] == 2
    assert count("country=NO").json() == {"count": 1, "described": ["country is NO"]}
    assert count("ordered_sku=MUG-01&language=en").json()["count"] == 1
    bad = count("min_orders=-3&language=xyz")
    assert bad.status_code == 422 and {e["loc"][0] for e in bad.json()["errors"]} == {
        "min_orders",
        "language",
    }
    saved = Segment.objects.create(name="Sweden", filters={"country": ["SE"]})
    assert count(f"saved={saved.pk}").json()["count"] == 1


def test_subscribers_page_shows_when_and_how(staff, people):
    consent.unsubscribe(people, source="one_click")
    page = staff.get("/admin/newsletters/subscribers/?q=c1@example.com")
    assert page.status_code == 200
    assert b"opted out" in page.content and b"One Click" in page.content
    assert b"opted in" in page.content and b"2025-01-01" in page.content  # the shop's opt-in time
    other = staff.get("/admin/newsletters/subscribers/?q=c2@example.com")
    assert b"Unsubscribe</button>" in other.content
    bo = Customer.objects.get(external_id="c2")
    staff.post(f"/admin/newsletters/subscribers/{bo.pk}/", {"action": "unsubscribe"})
    assert Consent.objects.filter(source="panel", detail="by boss@shop.test").count() == 1
