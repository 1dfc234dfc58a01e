"""E-mail templates and the rendering engine: plain Python, no database (run with -p no:django)."""

# ruff: noqa: RUF001 - the e-mails use typographic characters (multiplication sign, quotes) on purpose
from __future__ import annotations

import copy
import functools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta

from shopmail.mail import rendering
from shopmail.mail.notifications import (
    COMMON_VARIABLES,
    LANGUAGES,
    NOTIFICATIONS,
    ORDER_UPDATE_RULES,
    ORDER_VARIABLES,
)
from shopmail.mail.rendering import (
    TemplateRenderError,
    TemplateSource,
    build_context,
    default_source,
    describe_change,
    render,
    sample_context,
    validate,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
KEYS = tuple(NOTIFICATIONS)
EVERY = [(key, language) for key in KEYS for language in LANGUAGES]
ORDER_KEYS = tuple(key for key, spec in NOTIFICATIONS.items() if spec.about_order)

STORE = {
    "company_name": "Fjord & Fell",
    "company_url": "https://shop.example.com",
    "brand_color": "#0a7d4f",
    "default_language": "en",
    "admin_email": "orders@shop.example.com",
    "from_name": "Fjord & Fell",
}
# The order of SPEC section 3.
SPEC_ORDER: dict[str, Any] = {
    "id": "10023",
    "number": "10023",
    "created_at": "2026-11-20T10:15:00+00:00",
    "updated_at": "2026-11-21T08:00:00+00:00",
    "status": "processing",
    "status_label": "Processing",
    "currency": "EUR",
    "customer": {
        "id": "c-17",
        "email": "ana@example.com",
        "first_name": "Ana",
        "last_name": "Silva",
        "language": "en",
    },
    "billing_address": {},
    "shipping_address": {},
    "totals": {"subtotal": "20.00", "shipping": "4.95", "tax": "5.24", "total": "30.19"},
    "expected_delivery_date": None,
    "delivery_note_printed": False,
    "picked": False,
    "lines": [
        {
            "id": "1",
            "sku": "MUG-01",
            "name": "Mug",
            "quantity": 2,
            "unit_price": "10.00",
            "delivered_quantity": 0,
            "backordered": False,
            "expected_delivery_date": None,
            "purchase_order_expected_date": None,
            "download": None,
        },
    ],
    "shipments": [],
}


def confirmed(language: str, **overrides: Any) -> rendering.Rendered:
    context = build_context(
        "order_confirmed",
        language=language,
        store=STORE,
        order=SPEC_ORDER,
        customer=SPEC_ORDER["customer"],
        order_url="https://shop.example.com/account/orders/10023?token=t",
        **overrides,
    )
    return render("order_confirmed", language, context)


def lookup(context: Any, path: str) -> tuple[bool, Any]:
    """Follow a documented dotted path ("order.lines[].name") through a context."""
    value = context
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        if value is None:
            return True, None  # e.g. shipment outside shipment notices: documented as empty
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
        if many:
            if not isinstance(value, list):
                return False, None
            value = value[0] if value else None
    return True, value


# ---------------------------------------------------------------- every notification, every language


@pytest.mark.parametrize(("key", "language"), EVERY)
def test_every_default_renders_against_the_sample(key: str, language: str) -> None:
    context = sample_context(key, language)
    out = render(key, language, context)
    assert out.subject.strip() and out.text.strip() and out.html.strip()
    assert "\n" not in out.subject and "\r" not in out.subject
    assert "None" not in out.text and "None" not in out.subject
    for line in out.text.splitlines():  # readable at 72 columns: longer only for a lone URL
        assert len(line) <= 72 or " " not in line.strip(), line
    # CSS is inlined: what is left in <style> is responsive extras only, so Gmail needs none of it
    assert 'style="' in out.html and "class=" in out.html
    html = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", out.html, flags=re.DOTALL)
    for block in re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.DOTALL):
        assert block.strip().startswith("@media"), block
        assert "/*" not in block, "the stylesheet's notes for editors went out in the e-mail"
    assert re.search(r'<td class="header"[^>]*style="[^"]*background-color:#1f6feb', out.html)
    assert re.search(r'<td class="content" style="[^"]*padding:32px', out.html)
    for button in re.findall(r'<a class="button"[^>]*>', out.html):
        assert "background-color" in button and "padding:12px 28px" in button
    assert "{{" not in out.html and "{%" not in out.html
    assert validate(key, default_source(key, language), language) == []


@pytest.mark.parametrize(("key", "language"), EVERY)
def test_custom_message_is_shown_prominently(key: str, language: str) -> None:
    context = sample_context(key, language)
    context["custom_message"] = "Your parcel <b>leaves</b> today.\nThanks for waiting!"
    out = render(key, language, context)
    assert out.text.index("Your parcel <b>leaves</b> today.") < out.text.index("Thanks for waiting!")
    assert "Your parcel &lt;b&gt;leaves&lt;/b&gt; today." in out.html
    assert 'class="notice-cell"' in out.html
    assert out.html.index("notice-cell") < re.search(r"<h[12]", out.html).start()  # type: ignore[union-attr]


def test_custom_message_is_added_even_when_a_template_forgets_it() -> None:
    context = sample_context("order_updated", "en")
    context["custom_message"] = "Call us on 22 33 44 55"
    source = TemplateSource("Update", "Order {{ order.number }}", "<p>Order {{ order.number }}</p>")
    out = render("order_updated", "en", context, source)
    assert out.text.startswith("Call us on 22 33 44 55")
    assert "Call us on 22 33 44 55" in out.html


# ---------------------------------------------------------------- golden checks


def test_golden_confirmed_order_in_english() -> None:
    out = confirmed("en")
    assert out.subject == "Your order 10023 is confirmed"
    assert "Hi Ana,\n\nThank you for shopping with Fjord & Fell. We have confirmed your order\n" in out.text
    assert "\n10023 of 20 Nov 2026 and are getting it ready." in out.text
    assert "ORDER 10023 · 20 Nov 2026\n" in out.text
    assert "2 × Mug (MUG-01)\n    €10.00 each" + " " * 49 + "€20.00\n" in out.text
    assert "\n" + " " * 45 + "Total" + " " * 14 + "€30.19\n" in out.text
    assert "View your order:\nhttps://shop.example.com/account/orders/10023?token=t\n" in out.text
    assert "€30.19" in out.html and "Fjord &amp; Fell" in out.html
    assert 'bgcolor="#0a7d4f"' in out.html


def test_golden_confirmed_order_in_norwegian() -> None:
    out = confirmed("nb")
    assert out.subject == "Bestillingen din 10023 er bekreftet"
    assert "Hei Ana,\n\nTakk for at du handler hos Fjord & Fell. Vi har bekreftet" in out.text
    assert "BESTILLING 10023 · 20. nov. 2026\n" in out.text
    assert "\n" + " " * 44 + "Totalt" + " " * 13 + "30,19\xa0€\n" in out.text
    assert "10,00\xa0€ per stk." in out.text
    assert "30,19\xa0€" in out.html


def test_golden_confirmed_order_in_german() -> None:
    out = confirmed("de")
    assert out.subject == "Ihre Bestellung 10023 ist bestätigt"
    assert "Hallo Ana,\n\nVielen Dank für Ihren Einkauf bei Fjord & Fell." in out.text
    assert "Bestellung 10023 vom 20.11.2026 bestätigt" in out.text
    assert "BESTELLUNG 10023 VOM 20.11.2026\n" in out.text
    assert "\n" + " " * 44 + "Gesamt" + " " * 13 + "30,19\xa0€\n" in out.text
    assert "Viele Grüße\nFjord & Fell\n" in out.text


def test_language_falls_back_to_english() -> None:
    assert default_source("order_confirmed", "fr") == default_source("order_confirmed", "en")
    # which language a message is in is decided before (templates.language_of, tests/mail/
    # test_mail_content.py); a language staff added templates for formats in its own locale
    context = build_context("order_confirmed", language="fr", store=STORE, order=SPEC_ORDER, customer=None)
    assert context["language"] == "fr" and context["order"]["totals"]["total"] == "30,19\u00a0€"
    context = build_context("order_confirmed", language="zz", store=STORE, order=SPEC_ORDER, customer=None)
    assert context["language"] == "en" and context["order"]["totals"]["total"] == "€30.19"


# ---------------------------------------------------------------- describing changes


def test_describe_change_for_every_rule_in_english() -> None:
    order = rendering._sample_order("order_updated", "en")
    said = {change["rule"]: describe_change(change, "en", order) for change in rendering._SAMPLE_CHANGES}
    assert set(said) == set(ORDER_UPDATE_RULES)
    assert said == {
        "status_changed": "The status of your order is now “Invoiced”",
        "delivery_note_printed": (
            "The delivery note has been printed and your order is being prepared for shipping"
        ),
        "picked": "Your order has been picked",
        "shipment_number_entered": "Your parcel sent with UPS now has tracking number 1Z999AA10123456784",
        "delivered_quantity_changed": "Mug has been delivered in full",
        "expected_delivery_date_changed": "Expected delivery of Wool socks moved from 3\xa0Dec to 9\xa0Dec",
        "back_in_stock": "Wool socks is back in stock",
    }


def test_describe_change_edge_cases() -> None:
    order = rendering._sample_order("order_updated", "en")
    partly = {"rule": "delivered_quantity_changed", "before": 0, "after": 1, "line": "1"}
    assert describe_change(partly, "en", order) == "Mug: 1 of 2 delivered so far"
    new_date = {"rule": "expected_delivery_date_changed", "before": None, "after": "2027-01-05", "line": "2"}
    assert (
        describe_change(new_date, "en", order)
        == "Wool socks is now expected to be delivered on 5\xa0Jan\xa02027"
    )
    years = {
        "rule": "expected_delivery_date_changed",
        "before": "2026-12-30",
        "after": "2027-01-05",
        "line": None,
    }
    assert describe_change(years, "de", order) == (
        "Die voraussichtliche Lieferung Ihrer Bestellung verschiebt sich vom 30.12.2026 auf den 05.01.2027"
    )
    unknown = {"rule": "something_else", "description": "Something else happened"}
    assert describe_change(unknown, "nb", order) == "Something else happened"


def test_changes_in_the_context_are_localised() -> None:
    changes = sample_context("order_updated", "nb")["changes"]
    assert [c["rule"] for c in changes] == list(ORDER_UPDATE_RULES)
    assert changes[2]["description"] == "Varene i bestillingen din er plukket"
    assert changes[5]["line"]["name"] == "Ullsokker" and changes[5]["after"] == "9. des. 2026"


# ---------------------------------------------------------------- the sandbox


def problems(
    template: str, part: str = "html", key: str = "order_confirmed"
) -> list[rendering.TemplateProblem]:
    parts = {"subject": "Subject", "text": "Text", "html": "<p>HTML</p>", part: template}
    return validate(key, TemplateSource(parts["subject"], parts["text"], parts["html"]))


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''|attr('format') }}",
        "{{ ''|attr('__class__') }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ customer.email.upper.__self__ }}",
        "{{ order.lines.append(1) }}",
        "{{ order.totals.update({'total': '0'}) }}",
        "{{ order.lines|map(attribute='__class__')|list }}",
        "{{ 'a' * 10**9 }}",
        "{{ '%999999999d'|format(1) }}",
        "{{ 'x'|center(1000000000) }}",
        "{{ 2 ** 100000 }}",
        "{{ range(10**6)|list }}",
        "{% set s = 'x' * 400000 %}{% set s = s ~ s %}{{ s }}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "{% macro m() %}{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}{{ m() }}",
        "{% macro m(n) %}{{ m(n) }}{{ m(n) }}{% endmacro %}{{ m(1) }}",
        "{{ lipsum(1000) }}",
        "{{ namespace(a=1) }}",
    ],
)
def test_sandbox_escapes_and_bombs_are_refused(template: str) -> None:
    found = problems(template)
    assert found and found[0].part == "html", found


def test_refusals_name_the_reason() -> None:
    [problem] = problems("{{ ''.__class__.__mro__ }}")
    assert problem.line == 1 and "not allowed" in problem.reason
    [problem] = problems("{{ 'a' * 10**9 }}")
    assert "too large" in problem.reason
    [problem] = problems("{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}")
    assert "output too large" in problem.reason


def test_a_syntax_error_is_reported_with_its_line() -> None:
    [problem] = problems("Hello\n{{ customer.first_name }}\n{% if order.number %}\nno end", part="text")
    assert problem.part == "text" and problem.line == 4
    [problem] = problems("Order {{ order.number", part="subject")
    assert problem.part == "subject" and problem.line == 1


def test_unknown_variables_are_reported_with_their_line_even_in_untaken_branches() -> None:
    [problem] = problems("<p>Hi</p>\n{% if false %}\n<p>{{ coupon_code }}</p>\n{% endif %}")
    assert problem.line == 3 and "coupon_code" in problem.reason
    [problem] = problems("<p>Hi</p>\n\n{% if false %}{{ order.nubmer }}{% endif %}")
    assert problem.line == 3 and "order.nubmer" in problem.reason
    [problem] = problems("{{ reset_url }}", key="order_confirmed")  # an extra of another notification
    assert "reset_url" in problem.reason
    [problem] = problems("{{ order.number }}", key="password_reset")  # no order in a password reset
    assert "order" in problem.reason
    assert problems("{% for line in order.lines %}{{ line.name }}{% endfor %}{% set x = 1 %}{{ x }}") == []


def test_render_raises_with_the_line_of_the_source_as_written() -> None:
    source = TemplateSource(
        "Hi", "Text", "<html><head><style>p{color:red}</style></head>\n<body>\n<p>{{ nope.x }}</p>"
    )
    with pytest.raises(TemplateRenderError) as caught:
        render("order_confirmed", "en", sample_context("order_confirmed", "en"), source)
    [problem] = caught.value.problems
    assert (problem.part, problem.line) == ("html", 3)


def test_autoescape_in_html_only_and_single_line_subjects() -> None:
    context = sample_context("order_confirmed", "en")
    context["customer"]["first_name"] = "<script>alert(1)</script>"
    source = TemplateSource(
        "Hi {{ customer.first_name }}\r\nsecond  line",
        "Hi {{ customer.first_name }}",
        "<p>Hi {{ customer.first_name }}</p>",
    )
    out = render("order_confirmed", "en", context, source)
    assert out.subject == "Hi <script>alert(1)</script> second line"
    assert out.text == "Hi <script>alert(1)</script>\n"
    assert "&lt;script&gt;" in out.html and "<script>" not in out.html


def test_links_other_than_http_are_dropped_and_brand_colour_is_checked() -> None:
    order = copy.deepcopy(SPEC_ORDER)
    order["shipments"] = [
        {
            "id": "s1",
            "carrier": "UPS",
            "tracking_number": "1Z",
            "tracking_url": "javascript:alert(1)",
            "lines": [{"line_id": "1", "quantity": 2}],
        }
    ]
    context = build_context(
        "order_shipped",
        language="en",
        store={**STORE, "brand_color": "red;x:url(y)"},
        order=order,
        customer=None,
        shipment_id="s1",
        order_url="javascript:void(0)",
    )
    assert context["shipment"]["tracking_url"] == "" and context["order_url"] == ""
    assert context["store"]["brand_color"] == "#1f6feb"
    assert "javascript" not in render("order_shipped", "en", context).html


# ---------------------------------------------------------------- CSS inlining, once per template version


def test_css_is_inlined_once_per_template_version(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = rendering.inline_css

    def counting(source: str) -> tuple[str, str | None]:
        calls.append(source)
        return original(source)

    from shopmail.mail.render import engine

    monkeypatch.setattr(engine, "inline_css", counting)
    html = '<p class="muted">Version {{ order.number }} <span data-v="17">x</span></p>'
    source = TemplateSource("S", "T", html)
    context = sample_context("order_confirmed", "en")
    first = render("order_confirmed", "en", context, source)
    second = render("order_confirmed", "en", context, TemplateSource("S", "T", html[:-4] + "</p>"))
    assert calls.count(html) == 1 and first.html == second.html
    assert '<p class="muted" style="' in first.html and "Version 10023" in first.html
    assert rendering._compile("html", html) is rendering._compile("html", "".join(html))


def test_inlining_keeps_template_logic_inside_tables_and_tags() -> None:
    html = """<style>.row { color: #123456 } .hot { font-weight: bold }</style>
<table class="lines">
{% for line in order.lines %}
<tr {% if line.backordered %}class="hot"{% endif %}>
<td class="row" title="{{ line.sku }}">{{ line.name }}</td></tr>
{% endfor %}
</table>"""
    inlined, reason = rendering.inline_css(html)
    assert reason is None and "<style" not in inlined
    assert (
        inlined.index("{% for line in order.lines %}") < inlined.index("<tr") < inlined.index("{% endfor %}")
    )
    out = render(
        "order_confirmed", "en", sample_context("order_confirmed", "en"), TemplateSource("S", "T", html)
    )
    assert len(re.findall(r'<td class="row"[^>]*style="[^"]*color:#123456"', out.html)) == 3
    assert out.html.count('class="hot"') == 1 and 'title="SOCK-W"' in out.html


def test_expressions_in_style_reach_every_element_but_statements_are_refused() -> None:
    html = "<style>.x { color: {{ store.brand_color }}; }</style><p class='x'>a</p><p class='x'>b</p>"
    assert problems(html) == []
    out = render(
        "order_confirmed", "en", sample_context("order_confirmed", "en"), TemplateSource("S", "T", html)
    )
    assert (
        len(re.findall(r'<p class="x" style="[^"]*color:#1f6feb"', out.html)) == 2
        and "<style" not in out.html
    )
    [problem] = problems("<style>{% if true %}.x { color: red }{% endif %}</style><p class='x'>x</p>")
    assert "<style>" in problem.reason and problem.line is None


# ---------------------------------------------------------------- contexts: plain data, every variable


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(item) for item in value)
    return value is None or type(value) in (str, int, bool)


@pytest.mark.parametrize("key", KEYS)
def test_every_listed_variable_is_in_the_context(key: str) -> None:
    spec = NOTIFICATIONS[key]
    context = sample_context(key, "en")
    assert plain(context) and not any(isinstance(v, Decimal) for v in context.values())
    assert set(context) == set(spec.top_level), key
    for variable in spec.variable_names:
        found, _ = lookup(context, variable)
        assert found, f"{key}: {variable}"
    if key == "order_shipped":
        for variable in spec.variable_names:
            if variable.startswith("shipment."):
                assert lookup(context, variable)[1] is not None or variable == "shipment.drop_shipper"


@functools.cache
def names_in(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The context names a template reads, and the packaged templates it extends or includes."""
    tree = rendering._environment("text").parse(text)
    used = meta.find_undeclared_variables(tree) - rendering._assigned_names(tree)
    return frozenset(used), tuple(name for name in meta.find_referenced_templates(tree) if name)


@pytest.mark.parametrize("key", KEYS)
def test_defaults_use_only_listed_variables(key: str) -> None:
    allowed = NOTIFICATIONS[key].top_level | set(rendering._environment("html").globals)
    for language in LANGUAGES:
        for part, source in zip(rendering.PARTS, default_source(key, language), strict=True):
            seen, todo = set(), [source]
            while todo:  # the template and every packaged partial it extends or includes
                used, referenced = names_in(todo.pop())
                assert used <= allowed, (key, language, part, used - allowed)
                for name in referenced:
                    if name not in seen and name != "macros.html":
                        seen.add(name)
                        todo.append(rendering._read(f"_layout/{name}") or "")


@pytest.mark.parametrize("key", ORDER_KEYS)
def test_a_bare_order_still_renders(key: str) -> None:
    """Real snapshots may leave out optional fields: the context still has every documented name."""
    order = {
        "id": "7",
        "status": "processing",
        "lines": [{"id": "1", "name": "Mug", "quantity": 1}],
        "shipments": [],
    }
    context = build_context(
        key,
        language="de",
        store={},
        order=order,
        customer=None,
        changes=[{"rule": "picked", "before": False, "after": True, "line": None}],
    )
    assert plain(context)
    out = render(key, "de", context)
    assert out.subject and "None" not in out.text


def test_remaining_and_shipment_come_from_the_order() -> None:
    order = copy.deepcopy(SPEC_ORDER)
    order["lines"].append(
        {
            "id": "2",
            "sku": "SOCK",
            "name": "Socks",
            "quantity": 3,
            "unit_price": "5.00",
            "delivered_quantity": 1,
            "backordered": True,
            "expected_delivery_date": None,
            "purchase_order_expected_date": "2026-12-03",
        }
    )
    order["shipments"] = [
        {
            "id": "s1",
            "carrier": "UPS",
            "tracking_number": "1Z",
            "tracking_url": "https://t/1Z",
            "shipped_at": "2026-11-21T14:30:00+00:00",
            "lines": [{"line_id": "1", "quantity": 2}],
        }
    ]
    context = build_context(
        "order_partially_shipped", language="en", store=STORE, order=order, customer=None, shipment_id="s1"
    )
    assert context["shipment"]["lines"] == [{"line_id": "1", "name": "Mug", "sku": "MUG-01", "quantity": 2}]
    assert context["shipment"]["shipped_at"] == "21 Nov 2026"
    assert context["remaining"] == [
        {
            "id": "2",
            "name": "Socks",
            "sku": "SOCK",
            "quantity": 2,
            "expected_delivery_date": "3 Dec 2026",
            "backordered": True,
        }
    ]
    text = render("order_partially_shipped", "en", context).text
    assert "STILL TO COME\n- 2 × Socks, expected 3 Dec 2026\n" in text
    assert "Track your parcel:\nhttps://t/1Z\n" in text


# ---------------------------------------------------------------- docs/templates.md agrees with the registry


def doc_tables() -> tuple[list[str], list[str], dict[str, tuple[str, str, list[str]]]]:
    text = DOCS.read_text(encoding="utf-8")
    index = text.split("## Variable index", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### ", index, flags=re.MULTILINE)[1:]
    tables: dict[str, list[list[str]]] = {}
    for section in sections:
        title = section.splitlines()[0].strip()
        table = section[section.index("\n|") + 1 :].split("\n\n", 1)[0]  # the first table of the section
        rows = table.splitlines()[2:]
        tables[title] = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    names = lambda cell: re.findall(r"`([^`]+)`", cell)  # noqa: E731
    common = [names(row[0])[0] for row in tables["Common variables"]]
    order = [names(row[0])[0] for row in tables["Order variables"]]
    notifications = {names(row[0])[0]: (row[1], row[2], names(row[3])) for row in tables["Notifications"]}
    return common, order, notifications


def test_docs_list_the_same_variables_as_the_registry() -> None:
    common, order, notifications = doc_tables()
    assert common == [v.name for v in COMMON_VARIABLES]
    assert order == [v.name for v in ORDER_VARIABLES]
    assert list(notifications) == list(NOTIFICATIONS)
    for key, (audience, about_order, extras) in notifications.items():
        spec = NOTIFICATIONS[key]
        assert audience == spec.audience and about_order == ("yes" if spec.about_order else "no"), key
        assert extras == list(spec.extra_names), key


def test_docs_examples_render_as_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    examples = re.findall(
        r"^### `(\w+)`.*?```jinja\n(.*?)```\n.*?```text\n(.*?)```", text, re.DOTALL | re.MULTILINE
    )
    assert [key for key, _, _ in examples] == list(NOTIFICATIONS)
    for key, template, expected in examples:
        source = TemplateSource("Example", template, "")
        assert validate(key, source) == [], key
        assert render(key, "en", sample_context(key, "en"), source).text == expected, key
