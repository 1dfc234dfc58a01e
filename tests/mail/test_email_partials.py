"""The blocks the notifications share are one piece each in ``emails/_layout`` (docs/templates.md):
the greeting (``greeting.html``/``.txt``), the link to the order (``order_link.html``/``.txt``),
and the macros ``item_list`` and ``note`` of ``macros.html``. Each is written once and read by
every notification that shows it, in the message's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmail.mail.notifications import LANGUAGES
from shopmail.mail.rendering import render, sample_context

EMAILS = Path(__file__).resolve().parents[2] / "src" / "shopmail" / "emails"
HI = {"en": ("Hi Ana,", "Hi,"), "nb": ("Hei Ana,", "Hei,"), "de": ("Hallo Ana,", "Hallo,")}
VIEW = {"en": "View your order", "nb": "Se bestillingen din", "de": "Bestellung ansehen"}


def bodies() -> list[str]:
    return sorted(
        path.parent.name for path in EMAILS.glob("*/body.html") if not path.parent.name.startswith("_")
    )


def uses(name: str) -> list[str]:
    return [n for n in bodies() if f'{{% include "{name}" %}}' in (EMAILS / n / "body.html").read_text()]


GREETED, LINKED = uses("greeting.html"), uses("order_link.html")


def test_the_shared_blocks_are_written_once() -> None:
    assert len(GREETED) == 15 and len(LINKED) == 10
    for notification in bodies():
        for part in ("body.html", "body.txt"):
            source = (EMAILS / notification / part).read_text()
            assert "{% trans %}Hi,{% endtrans %}" not in source, (notification, part)
            assert "View your order" not in source, (notification, part)
    for notification in GREETED:  # both parts greet through the partial
        assert '{% include "greeting.txt" %}' in (EMAILS / notification / "body.txt").read_text()
    for notification in LINKED:
        assert '{% include "order_link.txt" %}' in (EMAILS / notification / "body.txt").read_text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_greeting_uses_the_first_name_when_there_is_one(language: str) -> None:
    named, plain = HI[language]
    for notification in GREETED:
        context = sample_context(notification, language)
        out = render(notification, language, context)
        assert f">{named}</p>" in out.html, notification
        assert out.text.startswith(f"{named}\n\n"), notification
        context["customer"] = {**context["customer"], "first_name": ""}
        out = render(notification, language, context)
        assert out.text.startswith(f"{plain}\n\n") and f">{named}</p>" not in out.html, notification


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_link_to_the_order_is_shown_when_there_is_one(language: str) -> None:
    for notification in LINKED:
        context = sample_context(notification, language)
        url = context["order_url"]
        out = render(notification, language, context)
        assert f'href="{url.replace("&", "&amp;")}"' in out.html and f">{VIEW[language]}</a>" in out.html
        assert f"{VIEW[language]}:\n{url}\n\n" in out.text
        context["order_url"] = ""
        out = render(notification, language, context)
        assert VIEW[language] not in out.html and VIEW[language] not in out.text


def test_a_return_lists_its_items_and_staff_comment() -> None:
    for notification in ("rma_approved", "rma_denied", "admin_rma_requested"):
        context = sample_context(notification, "en")
        context["rma"]["lines"] = [
            {"line_id": "1", "quantity": 1, "name": "Mug"},
            {"line_id": "2", "quantity": 2, "name": "Socks <wool>"},
        ]
        html = render(notification, "en", context).html
        items = html[html.index("<ul") : html.index("</ul>")]
        assert items.count("<li") == 2 and "2 \u00d7 Socks &lt;wool&gt;</li>" in items, notification
    context = sample_context("rma_denied", "en")
    context["rma"]["comment"] = "First.\n\nSecond line\nwith a break."
    html = render("rma_denied", "en", context).html
    box = html[html.index(">Why</p>") :]
    assert box.index("First.</p>") < box.index("Second line<br>with a break.</p>") < box.index("</table>")
    context["rma"]["comment"] = ""
    assert ">Why</p>" not in render("rma_denied", "en", context).html
