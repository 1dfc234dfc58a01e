"""Sending through the real test SMTP server: everyone once, with working one-click unsubscribe."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from collections import Counter

import pytest
from django.db import connection
from newsletter_support import customer, parsed, quick, unsubscribe_path

from shopmail.mail import editing
from shopmail.mail.models import Message, Priority, Status
from shopmail.mail.worker import claim, drain
from shopmail.newsletter import consent, drafts, sending, stats
from shopmail.newsletter.models import Consent, Newsletter, NewsletterStatus, Recipient
from shopmail.store.models import Customer, FeedEvent

pytestmark = pytest.mark.django_db
delivery = pytest.mark.django_db(transaction=True)  # the worker uses connections of its own

HTML = (
    "<h1>Winter news</h1><p>Warm feet all winter: our new merino socks are knitted in Norway.</p>"
    '<p><a href="https://shop.example.com/socks?utm=nl&amp;x=1">See the socks</a></p>'
)


def many(count: int, start: int = 0, **fields) -> list[Customer]:
    languages = ["en", "nb", "de", ""]
    Customer.objects.bulk_create(
        Customer(
            external_id=f"c{i}",
            email=f"c{i}@example.com",
            first_name=["Ana", "", "Jürgen", "Ola & <Kari>"][i % 4],
            last_name="Nordmann" if i % 3 else "",
            language=languages[i % 4],
            newsletter_opt_in=True,
            newsletter_opt_in_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            **fields,
        )
        for i in range(start, start + count)
    )
    # in the order made (c{start} first): a query without ORDER BY may return any order
    return list(
        Customer.objects.filter(external_id__in=[f"c{i}" for i in range(start, start + count)]).order_by("pk")
    )


def newsletter(subject: str = "Winter news", filters=None) -> Newsletter:
    return drafts.save(None, subject=subject, html=HTML, filters=filters or {})


@delivery
def test_segment_of_500_gets_exactly_one_mail_each_with_one_click_headers(smtp_store, smtp_server, client):
    people = many(500)
    customer(9001, email="no@example.com", newsletter_opt_in=False)
    letter = newsletter()
    sent = sending.send(letter)
    assert sent.status == NewsletterStatus.QUEUED and sent.recipient_count == 500
    assert Message.objects.filter(notification="newsletter", priority=Priority.BULK).count() == 500
    drain(concurrency=8)
    received = smtp_server.wait_for(500, timeout=60)
    assert len(received) == 500
    by_recipient = Counter(r for m in received for r in m.rcpt_tos)
    assert set(by_recipient) == {c.email for c in people}
    assert max(by_recipient.values()) == 1  # exactly one mail each

    links = set()
    for item in received:
        headers, text, html = quick(item.data)
        assert headers["Subject"] == "Winter news"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        match = re.fullmatch(r"<(https?://\S+/unsubscribe/\S+)>", headers["List-Unsubscribe"])
        assert match, headers["List-Unsubscribe"]
        url = match.group(1)
        assert url in text and url in html  # the same personal link in the header, text and HTML
        links.add(url)
        raw_header = item.data.split(b"\r\n\r\n")[0].decode()
        assert "\r\nList-Unsubscribe: <" in raw_header  # one unbroken token on its own line
        assert "merino socks" in text
        assert "https://shop.example.com/socks?utm=nl&amp;x=1" in html
    for item in received[:5]:  # and the strict parser agrees
        assert unsubscribe_path(parsed(item.data)).startswith("/unsubscribe/")
    assert len(links) == 500  # personal links

    assert stats.delivery_counts(Newsletter.objects.get(pk=letter.pk))["sent"] == 500
    # a personal link works: one-click POST with no cookies
    someone = people[7]
    item = next(m for m in received if m.rcpt_tos == (someone.email,))
    path = unsubscribe_path(parsed(item.data))
    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    someone.refresh_from_db()
    assert someone.newsletter_opt_in is False
    assert stats.delivery_counts(sent)["unsubscribed"] == 1


@delivery
def test_personalisation_and_names_are_safe(smtp_store, smtp_server):
    many(4)
    sending.send(newsletter())
    drain()
    received = {m.rcpt_tos[0]: parsed(m.data) for m in smtp_server.wait_for(4)}
    kari = received["c3@example.com"]
    assert kari["To"].addresses[0].display_name == "Ola & <Kari>"
    assert received["c1@example.com"]["To"].addresses[0].display_name == "Nordmann"
    assert "<Kari>" not in kari.get_body(("html",)).get_content()  # nothing personal unescaped
    # each in their own language, the store's default for c3 (none given)
    assert "Abmelden:" in received["c2@example.com"].get_body(("plain",)).get_content()
    assert "Meld deg av:" in received["c1@example.com"].get_body(("plain",)).get_content()
    assert "Unsubscribe:" in kari.get_body(("plain",)).get_content()


@delivery
def test_the_customers_phone_is_in_the_newsletter_as_in_order_mail(smtp_store, smtp_server):
    editing.save(
        "newsletter",
        "en",
        {
            "subject": "{{ newsletter.subject }}",
            "text": "{{ newsletter.text }}\nWe call {{ customer.phone }}.\n{{ unsubscribe_url }}",
            "html": "{{ newsletter.html|safe }}<p>We call {{ customer.phone }}.</p>"
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a>',
        },
    )
    customer(1, data={"phone": "+47 912 34 567"})
    customer(2)
    sending.send(newsletter())
    drain()
    received = {m.rcpt_tos[0]: parsed(m.data) for m in smtp_server.wait_for(2)}
    assert "We call +47 912 34 567." in received["c1@example.com"].get_body(("html",)).get_content()
    assert "We call ." in received["c2@example.com"].get_body(("html",)).get_content()
    one = Customer.objects.get(external_id="c1")
    assert sending.customer_context(one)["phone"] == "+47 912 34 567"  # preview and test sends


@delivery
def test_order_mail_goes_first_and_carries_no_unsubscribe_headers(api, smtp_store, smtp_server):
    from factories import order

    many(30)
    sending.send(newsletter())
    api.put("/orders/77", order("77", status="processing"))
    first = Message.objects.filter(pk__in=claim("test", 2)).values_list("notification", flat=True)
    assert set(first) == {"order_confirmed", "admin_order_placed"}
    Message.objects.filter(status=Status.SENDING).update(status=Status.QUEUED, claimed_by="")
    drain()
    received = smtp_server.wait_for(32)
    orders = [m for m in received if parsed(m.data)["X-Shopmail-Notification"] != "newsletter"]
    assert len(orders) == 2
    for item in orders:
        assert b"List-Unsubscribe" not in item.data.split(b"\r\n\r\n")[0]


def test_get_shows_confirm_only_and_post_without_cookies_unsubscribes(client, store):
    from django.test import Client

    ana = customer(1)
    letter = newsletter()
    path = f"/unsubscribe/{consent.token(ana.pk, letter.pk)}"
    page = client.get(path)
    assert page.status_code == 200 and b'<form method="post"' in page.content
    ana.refresh_from_db()
    assert ana.newsletter_opt_in is True  # a GET (a link scanner) changes nothing
    strict = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie or token
    response = strict.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not response.cookies
    ana.refresh_from_db()
    assert ana.newsletter_opt_in is False
    [record] = Consent.objects.filter(customer=ana)
    assert (record.subscribed, record.source, record.newsletter_id) == (False, "one_click", letter.pk)
    assert record.at is not None
    [event] = FeedEvent.objects.filter(type="newsletter.unsubscribed")
    assert event.data["customer"] == "c1" and event.data["newsletter"] == letter.pk

    again = strict.post(path, {"List-Unsubscribe": "One-Click"})  # a repeat is harmless
    assert again.status_code == 200
    assert Consent.objects.filter(customer=ana).count() == 1
    assert FeedEvent.objects.filter(type="newsletter.unsubscribed").count() == 1
    assert client.get(path).status_code == 200


def test_confirm_button_posts_without_a_csrf_token(store):
    from django.test import Client

    ana = customer(1)
    path = f"/unsubscribe/{consent.token(ana.pk, newsletter().pk)}"
    strict = Client(enforce_csrf_checks=True)
    assert b"csrfmiddlewaretoken" not in strict.get(path).content
    assert strict.post(path).status_code == 200  # the confirm page's button
    assert Consent.objects.get(customer=ana).source == "unsubscribe_link"


@pytest.mark.parametrize("tamper", ["signature", "customer", "garbage", "empty"])
def test_forged_or_altered_token_is_refused(client, store, tamper):
    ana, bo = customer(1), customer(2)
    token = consent.token(ana.pk, newsletter().pk)
    forged = {
        "signature": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "customer": token.replace(f"{ana.pk}.", f"{bo.pk}.", 1),
        "garbage": "eyJjIjoxfQ:abc",
        "empty": ":",
    }[tamper]
    for response in (client.get(f"/unsubscribe/{forged}"), client.post(f"/unsubscribe/{forged}")):
        assert response.status_code == 400
    assert set(Customer.objects.values_list("newsletter_opt_in", flat=True)) == {True}
    assert not Consent.objects.exists()
    # a token for another purpose, signed with the site key but another salt, is no good either
    from django.core import signing

    other = signing.Signer(salt="shopmail.order-link").sign(f"{bo.pk}.1")
    assert client.post(f"/unsubscribe/{other}").status_code == 400


@delivery
def test_next_newsletter_skips_the_unsubscribed_address(client, smtp_store, smtp_server):
    many(5)
    first = newsletter("One")
    sending.send(first)
    drain()
    smtp_server.wait_for(5)
    c2 = Customer.objects.get(external_id="c2")
    assert client.post(f"/unsubscribe/{consent.token(c2.pk, first.pk)}").status_code == 200
    second = sending.send(newsletter("Two"))
    assert second.recipient_count == 4
    assert not Recipient.objects.filter(newsletter=second, customer=c2).exists()
    drain()
    got = smtp_server.wait_for(9)
    assert [m.rcpt_tos for m in got].count(("c2@example.com",)) == 1


def test_unsubscribing_cancels_a_copy_still_waiting(client, store):
    many(3)
    letter = sending.send(newsletter(), at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert stats.phase(letter, stats.delivery_counts(letter)) == "scheduled"
    c1 = Customer.objects.get(external_id="c1")
    client.post(f"/unsubscribe/{consent.token(c1.pk, letter.pk)}")
    message = Recipient.objects.get(newsletter=letter, customer=c1).message
    assert message.status == Status.CANCELLED
    assert stats.delivery_counts(letter) | {} == stats.delivery_counts(letter)
    assert stats.delivery_counts(letter)["cancelled"] == 1


@delivery
def test_sending_twice_sends_nobody_twice(smtp_store, smtp_server):
    many(40)
    letter = newsletter()
    sending.send(letter)
    sending.send(letter)  # a double click, or the API called twice
    sending.send(Newsletter.objects.get(pk=letter.pk))
    assert Message.objects.filter(notification="newsletter").count() == 40
    drain()
    received = smtp_server.wait_for(40)
    assert len({m.rcpt_tos for m in received}) == len(received) == 40


@delivery
def test_crash_mid_send_then_restart_sends_nobody_twice(smtp_store, smtp_server, monkeypatch):
    many(120)
    letter = newsletter()
    monkeypatch.setattr(sending, "CHUNK", 50)
    real_execute, calls = sending._execute, []

    def crashing_execute(cursor, sql, params):
        real_execute(cursor, sql, params)
        calls.append(sql)
        if len([call for call in calls if 'INSERT INTO "mail_message"' in call]) == 2:
            # the second chunk has made its messages (on PostgreSQL, with their payloads and
            # links, in the same statement) and has not committed: its transaction is rolled back
            raise RuntimeError("power cut")

    sending.freeze(letter.pk)  # as send() does on SQLite; on PostgreSQL it queues in one go (below)
    monkeypatch.setattr(sending, "_execute", crashing_execute)
    with pytest.raises(RuntimeError):
        sending.queue_pending(letter.pk)
    letter.refresh_from_db()
    assert letter.status == NewsletterStatus.SENDING and letter.recipient_count == 120
    assert Message.objects.filter(notification="newsletter").count() == 50
    drain()  # the worker sends what was queued meanwhile
    smtp_server.wait_for(50)
    monkeypatch.setattr(sending, "_execute", real_execute)
    resumed = sending.send(letter)  # "send" again (the panel offers "Resume sending")
    assert resumed.status == NewsletterStatus.QUEUED
    assert Message.objects.filter(notification="newsletter").count() == 120
    drain()
    received = smtp_server.wait_for(120)
    counts = Counter(m.rcpt_tos[0] for m in received)
    assert len(counts) == 120 and max(counts.values()) == 1


@delivery
def test_a_crash_before_send_commits_queues_nobody_and_sending_again_queues_everyone_once(
    smtp_store, smtp_server, monkeypatch
):
    many(60)
    letter = newsletter()
    real_execute = sending._execute

    def crashing_execute(cursor, sql, params):
        real_execute(cursor, sql, params)
        if 'INSERT INTO "mail_message"' in sql:  # the messages are made, nothing is committed
            raise RuntimeError("power cut")

    monkeypatch.setattr(sending, "_execute", crashing_execute)
    with pytest.raises(RuntimeError):
        sending.send(letter)
    letter.refresh_from_db()
    assert Message.objects.filter(notification="newsletter").count() == 0
    if connection.vendor == "postgresql":  # frozen and queued in one statement: both undone
        assert letter.status == NewsletterStatus.DRAFT and not Recipient.objects.exists()
    else:  # the list was frozen in a transaction of its own, the first chunk was undone
        assert letter.status == NewsletterStatus.SENDING and Recipient.objects.count() == 60
    monkeypatch.setattr(sending, "_execute", real_execute)
    assert sending.send(letter).status == NewsletterStatus.QUEUED
    drain()
    received = smtp_server.wait_for(60)
    counts = Counter(m.rcpt_tos[0] for m in received)
    assert len(counts) == 60 and max(counts.values()) == 1
    assert Recipient.objects.filter(newsletter=letter, message__isnull=True).count() == 0


@delivery
def test_two_sends_at_once_queue_each_recipient_once(store):
    many(300)
    letter = newsletter()
    errors: list[BaseException] = []

    def run():
        from django.db import connection

        try:
            sending.send(Newsletter.objects.get(pk=letter.pk))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    keys = list(Message.objects.filter(notification="newsletter").values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 300


def test_rate_limit_spaces_due_times(store):
    many(200)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    letter = sending.send(newsletter(), at=start, rate_per_hour=720)  # one every 5 seconds
    due = sorted(Message.objects.filter(notification="newsletter").values_list("due_at", flat=True))
    assert due[0] == start
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(due)}
    assert gaps == {5.0}
    assert letter.rate_per_hour == 720
    # per hour that is 720 messages: within 5 % in every hour-long window
    in_first_hour = sum(1 for d in due if d < start + dt.timedelta(hours=1))
    assert in_first_hour == 200  # (only 200 recipients here)
    assert claim("test", 500) == []  # nothing is due before the scheduled time


def test_rate_limit_holds_within_five_percent_of_the_hour(store):
    many(800)
    start = dt.datetime.now(dt.UTC)
    sending.send(newsletter(), rate_per_hour=600)
    due = sorted(Message.objects.filter(notification="newsletter").values_list("due_at", flat=True))
    assert (due[-1] - due[0]).total_seconds() == 799 * 6
    for window in (0, 17, 600, 1000):  # hour-long windows inside the sending time
        begin = due[0] + dt.timedelta(seconds=window)
        in_hour = sum(1 for d in due if begin <= d < begin + dt.timedelta(hours=1))
        assert 570 <= in_hour <= 630
    assert due[0] >= start - dt.timedelta(seconds=1)


@delivery
def test_scheduled_send_waits(smtp_store, smtp_server):
    many(3)
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    sending.send(newsletter(), at=at)
    assert set(Message.objects.values_list("due_at", flat=True)) == {at}
    drain()
    assert smtp_server.messages == []


def test_opt_out_between_freezing_and_queueing_is_skipped(store, monkeypatch):
    people = many(10)
    letter = newsletter()
    sending.freeze(letter.pk)
    consent.unsubscribe(people[3], source="panel")
    done = sending.queue_pending(letter.pk)
    assert done.status == NewsletterStatus.QUEUED and done.recipient_count == 10
    assert Message.objects.filter(notification="newsletter").count() == 9
    assert Recipient.objects.get(newsletter=letter, customer=people[3]).skipped == "unsubscribed"
    assert stats.delivery_counts(done)["skipped"] == 1


@delivery
def test_a_customer_deleted_before_queueing_is_skipped_and_after_it_is_held(smtp_store, smtp_server):
    people = many(6)
    letter = newsletter()
    sending.freeze(letter.pk)
    people[1].delete()  # between freezing and queueing
    sending.queue_pending(letter.pk)
    assert Recipient.objects.get(newsletter=letter, position=1).skipped == "deleted"
    assert Message.objects.filter(notification="newsletter").count() == 5
    gone = Recipient.objects.get(newsletter=letter, position=4)
    gone.customer.delete()  # after queueing, before the worker composed it: nothing goes to them
    drain()
    assert Message.objects.get(pk=gone.message_id).status == Status.HELD
    assert "no longer exists" in Message.objects.get(pk=gone.message_id).last_error
    received = smtp_server.wait_for(4)
    assert sorted(m.rcpt_tos[0] for m in received) == [f"c{n}@example.com" for n in (0, 2, 3, 5)]
    # the message log shows the language and personal parts the worker composed with
    sent = Message.objects.filter(notification="newsletter", status=Status.SENT).select_related("payload")
    assert {m.payload.language for m in sent} <= {"en", "nb", "de"} and all(m.payload.subject for m in sent)


def test_one_mail_per_address_even_on_two_customers(store):
    customer(1, email="same@example.com")
    customer(2, email="Same@Example.com")
    letter = sending.send(newsletter())
    assert letter.recipient_count == 1


@delivery
def test_test_send_goes_to_the_given_addresses_only(smtp_store, smtp_server, client):
    many(20)
    letter = newsletter()
    queued = sending.test_send(letter, ["qa@shop.test", "boss@shop.test"])
    assert {m.to_email for m in queued} == {"qa@shop.test", "boss@shop.test"}
    drain()
    received = smtp_server.wait_for(2)
    assert {m.rcpt_tos[0] for m in received} == {"qa@shop.test", "boss@shop.test"}
    message = parsed(received[0].data)
    assert message["Subject"] == "[Test] Winter news"
    path = unsubscribe_path(message)
    assert client.post(path).status_code == 200  # a test link: unsubscribes nobody
    assert not Consent.objects.exists()
    assert Newsletter.objects.get(pk=letter.pk).status == NewsletterStatus.DRAFT


@delivery
def test_a_deferred_newsletter_message_is_retried_with_its_message_id(smtp_store, smtp_server):
    from fixtures.delivery import set_due_now

    many(2)
    sending.send(newsletter())
    smtp_server.fail("rcpt", code=451, times=1)
    drain()
    assert Message.objects.filter(status=Status.DEFERRED).count() == 1
    set_due_now()
    drain()
    received = smtp_server.wait_for(2)
    assert Message.objects.filter(status=Status.SENT).count() == 2
    assert sorted(m.message_id for m in received) == sorted(
        Message.objects.values_list("message_id", flat=True)
    )


def test_queued_recipients_have_their_language_as_language_for_gives_it(store):
    from shopmail.mail import outbox
    from shopmail.mail.models import Payload

    store.default_language = "de"
    store.save()
    given = ["nb-NO", "DE_de", "", "en", "pt_BR-x"]
    for n, language in enumerate(given, start=1):
        customer(n, language=language)
    letter = sending.send(newsletter())
    expected = {
        f"c{n}@example.com": outbox.language_for({"language": lang}, store) for n, lang in enumerate(given, 1)
    }
    assert expected == {
        "c1@example.com": "nb", "c2@example.com": "de", "c3@example.com": "de",
        "c4@example.com": "en", "c5@example.com": "pt",
    }  # fmt: skip
    rows = Recipient.objects.filter(newsletter=letter).select_related("message")
    assert {r.email: r.language for r in rows} == expected
    assert {r.email: Payload.objects.get(pk=r.message_id).language for r in rows} == expected


@delivery
def test_resending_a_newsletter_message_sends_it_again_personalised(smtp_store, smtp_server):
    from shopmail.mail import actions

    customer(1, first_name="Kari")
    sending.send(newsletter())
    drain()
    [first] = smtp_server.wait_for(1)
    original = Message.objects.get(notification="newsletter")
    copy = actions.resend(original)
    drain()
    copy.refresh_from_db()
    assert copy.status == Status.SENT and copy.message_id != original.message_id
    received = smtp_server.wait_for(2)
    again = received[-1].message
    assert again["List-Unsubscribe"] == first.message["List-Unsubscribe"]
    assert again["To"] == first.message["To"] and "Kari" in again["To"]


def test_an_opt_out_from_the_shop_cancels_the_copies_still_waiting(api, store):
    people = many(3)
    sending.send(newsletter())
    assert Message.objects.filter(notification="newsletter", status=Status.QUEUED).count() == 3
    shop_says = {"id": "c1", "email": "c1@example.com", "first_name": "", "newsletter_opt_in": False}
    assert api.put("/customers/c1", shop_says).status_code == 200
    gone = Message.objects.get(newsletter_recipient__customer=people[1])
    assert gone.status == Status.CANCELLED and "unsubscribed" in gone.last_error
    assert Message.objects.filter(notification="newsletter", status=Status.QUEUED).count() == 2
