"""Newsletters are personalised through the order templates' sandbox and variables, with the
save-time checks (SPEC 6; issue 20, item 7)."""

from __future__ import annotations

import pytest
from newsletter_support import customer, parsed

from shopmail.mail import compose as compose_mod
from shopmail.mail.models import Message, Payload
from shopmail.newsletter import drafts, mailing, sending
from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db

HTML = (
    "<p>Hi {{ customer.first_name }}, winter news from {{ company_name }}.</p>"
    "{% if customer.country == 'NO' %}<p>Free shipping in Norway.</p>{% endif %}"
)


def composed(message: Message) -> tuple[str, str, str, str]:
    payload = Payload.objects.get(pk=message.pk)
    result = compose_mod.compose(message, payload, StoreSettings.load())
    mail = parsed(result.raw)
    return (
        str(mail["Subject"]),
        mail.get_body(("plain",)).get_content(),
        mail.get_body(("html",)).get_content(),
        str(mail["To"]),
    )


def test_variables_are_filled_in_for_each_recipient(store):
    letter = drafts.save(None, subject="News for {{ customer.first_name }}", html=HTML)
    customer(1, first_name="Kari", country="NO")
    customer(2, first_name="Ola", country="SE")
    sending.send(letter)
    messages = {m.to_email: m for m in Message.objects.filter(notification="newsletter")}
    subject, text, html, _ = composed(messages["c1@example.com"])
    assert subject == "News for Kari"
    assert "Hi Kari, winter news from Test Shop." in text and "Hi Kari" in html
    assert "Free shipping in Norway." in text
    subject, text, html, _ = composed(messages["c2@example.com"])
    assert subject == "News for Ola" and "Hi Ola" in text and "Free shipping" not in text
    for part in (subject, text, html):
        assert "{{" not in part and "customer.first_name" not in part


def test_full_render_fills_variables_too(store):
    letter = drafts.save(None, subject="News for {{ customer.first_name }}", html=HTML)
    customer(1, first_name="Kari", country="NO")
    sending.send(letter)
    message = Message.objects.get(notification="newsletter")
    payload = Payload.objects.get(pk=message.pk)
    shared = mailing.content(payload.context["newsletter_id"], payload.context["newsletter_revision"])
    result = mailing._full(message, payload, StoreSettings.load(), shared)
    assert result.subject == "News for Kari" and "Hi Kari, winter news from Test Shop." in result.text


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<p>Hi {{ customer.nickname }}</p>", "unknown variable 'customer.nickname'"),
        ("<p>Hi {{ first_name }}</p>", "unknown variable 'first_name'"),
        ("<p>{% if %}</p>", "line 1"),
        ("<p>{{ ''.__class__ }}</p>", "not allowed"),
    ],
)
def test_a_newsletter_with_a_bad_variable_is_refused_on_save(store, html, reason):
    with pytest.raises(drafts.Invalid) as refused:
        drafts.save(None, subject="News", html=html)
    assert reason in str(refused.value)


def test_a_test_send_to_another_address_does_not_carry_the_customers_name(store):
    letter = drafts.save(None, subject="News", html=HTML)
    kari = customer(1, first_name="Kari", last_name="Nordmann")
    sending.test_send(letter, ["boss@shop.test", "c1@example.com"], as_customer=kari)
    messages = {m.to_email: m for m in Message.objects.filter(notification="newsletter")}
    _, text, _, to = composed(messages["boss@shop.test"])
    assert "Kari" not in to and to == "boss@shop.test"
    assert "Hi Kari" in text  # the preview is still personalised as Kari
    assert composed(messages["c1@example.com"])[3] == "Kari Nordmann <c1@example.com>"


def test_a_customer_language_without_templates_gets_the_stores(store):
    store.default_language = "de"
    store.save()
    letter = drafts.save(None, subject="News", html=HTML)
    customer(1, first_name="Amélie", language="fr")
    sending.send(letter)
    _, text, _, _ = composed(Message.objects.get(notification="newsletter"))
    assert "Sie erhalten diesen Newsletter" in text and "You are receiving" not in text
