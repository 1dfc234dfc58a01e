"""Template sandbox bombs (issue 19, findings 5 and 6).

5. The width check missed format keys with nested parentheses (``'%(a(b))300000000s'``): a 300 MB
   string was built before the size check. It is refused before anything is built.
6. Rendering had no time limit: 2,000 ``title()`` calls on a 500 K string took 8.8 s and the
   template was accepted. Work per render is bounded (CPU time and text built) on save, in
   preview and when composing (the message is held with the reason).
"""

from __future__ import annotations

import tracemalloc

import pytest

from factories import order
from shopmail.mail.models import Message, Status, TemplateVersion
from shopmail.mail.render.sandbox import MAX_SECONDS
from shopmail.mail.worker import drain

pytestmark = pytest.mark.django_db

NESTED_WIDTH = "{{ '%(a(b))300000000s' % {'a(b)': 'x'} }}"
TITLE_LOOP = "{% set s = 'a' * 500000 %}{% for i in range(2000) %}{% set t = s.title() %}{% endfor %}Hi"
# builds nothing (a bool a call) but ~5 ms of CPU a call: only the time bound stops it
ISALPHA_LOOP = (
    "{% set s = 'a' * 500000 %}{% for i in range(9000) %}{% if s.isalpha() %}{% endif %}{% endfor %}Hi"
)


def _put(api, text: str):
    return api.put(
        "/templates/order_confirmed/en",
        {"subject": "Order {{ order.number }}", "text": text, "html": "<p>Order {{ order.number }}</p>"},
    )


def test_nested_parentheses_in_a_format_key_are_refused_before_building(api):
    tracemalloc.start()
    try:
        response = _put(api, NESTED_WIDTH)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "text"] and "format width too large" in problem["msg"]
    assert peak < 100 * 1024 * 1024  # the 300 MB string was never built
    # the same through the format filter, and normal formatting still works
    assert _put(api, "{{ '%(a(b))300000000s'|format(**{'a(b)': 'x'}) }}").status_code == 422
    assert _put(api, "Total {{ '%(n)5.2f' % {'n': 3.14159} }} {{ '%s-%s'|format(1, 2) }}").status_code == 200
    assert TemplateVersion.objects.count() == 1


@pytest.mark.parametrize("call", ["gettext", "_", "pgettext('ctx', "])
def test_a_width_in_a_translated_string_is_refused_before_building(api, call):
    """gettext's own %-formatting had no width check: _("%(x)90000000d", x=1) built 90 MB
    before the size check refused it (found in issue 26)."""
    prefix = call if call.endswith(", ") else call + "("
    tracemalloc.start()
    try:
        response = _put(api, "{{ " + prefix + "'%(x)300000000d', x=1) }}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422
    assert "format width too large" in response.json()["detail"][0]["msg"]
    assert peak < 100 * 1024 * 1024
    assert _put(api, "{{ " + prefix + "'%(x)5d items', x=3) }}").status_code == 200  # a width is fine


@pytest.mark.parametrize("bomb", [TITLE_LOOP, ISALPHA_LOOP], ids=["title-500K", "isalpha-500K"])
def test_slow_templates_are_refused_on_save_and_in_preview(api, bomb):
    response = _put(api, bomb)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "text"]
    assert "builds too much text" in problem["msg"] or f"over {MAX_SECONDS:g} s" in problem["msg"]
    assert TemplateVersion.objects.count() == 0
    # normal use: a template with a loop over the order's lines is saved
    normal = "{% for line in order.lines %}{{ line.name|title }} x {{ line.quantity }}\n{% endfor %}"
    assert _put(api, normal).status_code == 200


@pytest.mark.django_db(transaction=True)  # the worker runs on its own connections
def test_a_slow_template_stored_earlier_is_held_with_the_reason_when_composing(api, smtp_store, smtp_server):
    TemplateVersion.objects.create(  # saved before these limits existed
        notification="order_confirmed",
        language="en",
        subject="Order {{ order.number }}",
        text=ISALPHA_LOOP,
        html="<p>x</p>",
    )
    assert api.get("/templates/order_confirmed/en/preview").status_code == 422
    assert api.put("/orders/1", order("1", status="processing")).status_code == 200
    drain()
    held = Message.objects.get(notification="order_confirmed")
    assert held.status == Status.HELD and f"over {MAX_SECONDS:g} s" in held.last_error
    # the other mail of the same order still went out
    assert Message.objects.filter(status=Status.SENT).exists()
