"""Bulk composing: the same e-mail as a full render, from the shared parts rendered once."""

from __future__ import annotations

import pytest
from newsletter_support import customer, parsed

from shopmail.mail import compose as compose_mod
from shopmail.mail.models import Message, Payload, TemplateVersion
from shopmail.newsletter import drafts, mailing, sending
from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db

LONG = " ".join(["Warm feet all winter: our new merino socks are knitted in Norway."] * 40)
HTML = f"<h1>News &amp; more</h1><p>{LONG}</p>\n<p>.starts with a dot</p>\n<pre>From the editor</pre>"


def bodies(raw: bytes) -> tuple[str, str, str]:
    message = parsed(raw)
    return (
        str(message["Subject"]),
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def check_lines(raw: bytes) -> None:
    for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n"):
        assert len(line) <= 76
        assert not line.startswith((b".", b"From "))
    raw.decode("ascii")


def queued(store, **people):
    letter = drafts.save(None, subject="Winter news", html=HTML)
    for n, fields in enumerate(people.values(), start=1):
        customer(n, **fields)
    sending.send(letter)
    return list(Message.objects.filter(notification="newsletter").order_by("pk")), letter


SHAPES = {
    "plain": {"first_name": "Ana", "last_name": "Silva", "language": "en"},
    "nameless": {"first_name": "", "last_name": "", "language": "nb"},
    "hostile": {"first_name": '<b>Ola</b> & "Kari"', "last_name": "Ünïcødé 😀", "language": "de"},
    "long": {"first_name": "A" * 60, "last_name": "B" * 60, "language": ""},
}


def full(message: Message) -> compose_mod.Composed:
    payload = Payload.objects.get(pk=message.pk)
    shared = mailing.content(payload.context["newsletter_id"], payload.context["newsletter_revision"])
    assert shared is not None
    return mailing._full(message, payload, StoreSettings.load(), shared)


def test_fast_path_matches_a_full_render(store):
    messages, _ = queued(store, **SHAPES)
    settings = StoreSettings.load()
    for message in messages:
        fast = mailing.compose(message, Payload.objects.get(pk=message.pk), settings)
        slow = full(message)
        assert bodies(fast.raw) == bodies(slow.raw)
        assert (fast.subject, fast.text, fast.html) == (slow.subject, slow.text, slow.html)
        check_lines(fast.raw)
        headers = parsed(fast.raw)
        assert headers["Message-ID"] == message.message_id
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(stencil is not None for stencil in mailing._STENCILS.values())


@pytest.mark.parametrize(
    ("html", "fast"),
    [
        # personal values as {{ value }} and {% if value %}: placeholders are fine
        ("{% if customer.first_name %}<p>Hi {{ customer.first_name }}!</p>{% else %}<p>Hi!</p>{% endif %}"
         "{{ newsletter.html|safe }}<a href=\"{{ unsubscribe_url }}\">Leave</a>", True),
        # a filter, a comparison, an assignment: every recipient rendered in full
        ("<p>Hi {{ customer.first_name|upper }}</p>{{ newsletter.html|safe }}{{ unsubscribe_url }}", False),
        ("{% if customer.country == 'NO' %}<p>Hei!</p>{% endif %}{{ newsletter.html|safe }}{{ unsubscribe_url }}", False),  # noqa: E501
        ("{% set n = customer.first_name %}<p>{{ n }}</p>{{ newsletter.html|safe }}{{ unsubscribe_url }}", False),  # noqa: E501
    ],
)  # fmt: skip
def test_store_templates_are_checked_before_placeholders_are_used(store, html, fast):
    TemplateVersion.objects.create(
        notification="newsletter",
        language="en",
        subject="{{ newsletter.subject }} for {{ customer.first_name }}",
        text="Hi {{ customer.first_name }}\n{{ newsletter.text }}\nLeave: {{ unsubscribe_url }}",
        html=html,
    )
    mailing._TEMPLATES.clear()
    messages, _ = queued(store, a=SHAPES["plain"], b={**SHAPES["nameless"], "language": "en"})
    settings = StoreSettings.load()
    for message in messages:
        composed = mailing.compose(message, Payload.objects.get(pk=message.pk), settings)
        assert bodies(composed.raw) == bodies(full(message).raw)
    assert any(stencil is not None for stencil in mailing._STENCILS.values()) is fast
    first = bodies(mailing.compose(messages[0], Payload.objects.get(pk=messages[0].pk), settings).raw)
    assert first[0] == "Winter news for Ana"
    assert ("Hi ANA" in first[2]) is ("|upper" in html)


def test_a_deleted_newsletter_holds_its_messages(store):
    messages, letter = queued(store, a=SHAPES["plain"])
    mailing._CONTENT.clear()
    letter.delete()
    with pytest.raises(LookupError):
        mailing.compose(messages[0], Payload.objects.get(pk=messages[0].pk), StoreSettings.load())
