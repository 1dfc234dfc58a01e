"""The simple template editor (issue 27, 1): extra text above or below the standard body, a
subject line, clickable variables; validated and previewed as the full editor does."""

from __future__ import annotations

import re

import pytest

from shopmail.mail import rendering
from shopmail.mail.models import Message, TemplateVersion
from shopmail.mail.render import extra
from shopmail.mail.worker import drain

pytestmark = pytest.mark.django_db

SIMPLE = "/admin/templates/order_confirmed/nb/simple/"
DRAFT = {
    "subject": "Ordre {{ order.number }} er bekreftet {ikke kode}",
    "extra_text": (
        "Hei **{{ customer.first_name }}**! <b>Ikke HTML</b> {% if x %}\n\n"
        "- [Se ordren]({{ order_url }})\n- *Ring oss*"
    ),
    "position": "top",
}


def test_page_offers_toolbar_variables_with_samples_and_a_preview(staff):
    page = staff.get(SIMPLE).content.decode()
    assert 'data-format="bold"' in page and 'data-format="link"' in page and 'data-format="list"' in page
    assert 'data-variable="order.number"' in page and "<q>10023</q>" in page  # the sample value
    assert 'data-variable="order.lines' not in page  # lists cannot be clicked into a sentence
    assert 'srcdoc="&lt;' in page and "panel/editor.js" in page
    assert 'placeholder="Bestillingen din 10023 er bekreftet"' in page  # the standard subject, sample order


def test_preview_renders_the_extra_text_escaped_in_both_parts(staff, placed):
    body = staff.post(SIMPLE + "preview/", {**DRAFT, "order": "10023"}).json()
    assert body["ok"] is True, body
    assert body["subject"] == "Ordre 10023 er bekreftet {ikke kode}"
    html, text = body["html"], body["text"]
    assert "Hei <strong>Ana</strong>! &lt;b&gt;Ikke HTML&lt;/b&gt; {% if x %}" in html
    assert re.search(r'<a href="http://[^"]+/account/order/[^"]+" target="_blank"[^>]*>Se ordren</a>', html)
    assert "<em>Ring oss</em>" in html and "<ul" in html
    assert html.index("Ikke HTML") < html.index("<h1")  # above the standard body
    assert text.startswith("Hei Ana! <b>Ikke HTML</b> {% if x %}\n\n- Se ordren")
    assert "- Ring oss" in text
    assert TemplateVersion.objects.count() == 0


def test_preview_button_without_javascript_and_below(staff):
    response = staff.post(SIMPLE, {**DRAFT, "position": "bottom", "action": "preview"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ordre 10023 er bekreftet" in page and "Ikke HTML" in page
    assert TemplateVersion.objects.count() == 0


def test_unknown_variable_and_bad_position_are_refused_by_field(staff):
    response = staff.post(SIMPLE, {**DRAFT, "extra_text": "Hei {{ customer.password }}", "action": "save"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Extra text: unknown variable &#x27;customer.password&#x27;" in page
    assert 'aria-describedby="help-extra err-extra" aria-invalid="true"' in page
    body = staff.post(SIMPLE + "preview/", {**DRAFT, "subject": "{{ nope }}"}).json()
    assert body["ok"] is False and body["problems"][0]["field"] == "subject"
    response = staff.post(SIMPLE, {**DRAFT, "position": "middle", "action": "save"})
    assert response.status_code == 422 and b"Place: choose above or below" in response.content
    assert TemplateVersion.objects.count() == 0


def test_save_stores_what_was_typed_and_a_template_the_full_editor_accepts(staff, staff_user):
    response = staff.post(SIMPLE, {**DRAFT, "action": "save"})
    assert response.status_code == 302
    version = TemplateVersion.objects.get()
    assert version.simple and version.extra_text == DRAFT["extra_text"].replace("\r\n", "\n")
    assert version.extra_position == "top" and version.created_by == staff_user.username
    source = rendering.TemplateSource(version.subject, version.text, version.html)
    assert rendering.validate("order_confirmed", source, "nb") == []  # the full editor's checks
    page = staff.get(SIMPLE).content.decode()
    assert "Hei **{{ customer.first_name }}**!" in page.replace("&#x27;", "'").replace("&quot;", '"')
    full = staff.get("/admin/templates/order_confirmed/nb/").content.decode()
    assert f"version {version.pk}" in full and "{% set extra_top %}" in full


def test_only_link_variables_and_safe_addresses_become_links():
    html = extra.to_html(
        "[a]({{ customer.first_name }}) [b](javascript:alert(1)) [c]({{ shipment.tracking_url }})"
    )
    assert html.count("<a ") == 1
    assert '<a href="{{ shipment.tracking_url }}" target="_blank">c</a>' in html
    assert "[a]({{ customer.first_name }})" in html and "[b](javascript:alert(1))" in html


def test_no_extra_text_keeps_the_standard_template_exactly():
    standard = rendering.default_source("order_confirmed", "nb")
    assert extra.compose(standard, "", "", "bottom") == standard
    assert extra.compose(standard, "", "  \n", "top") == standard


@pytest.mark.django_db(transaction=True)
def test_saved_extra_text_is_in_the_next_mail(staff, placed, smtp_store, smtp_server):
    Message.objects.all().delete()
    draft = {"subject": "", "extra_text": "Vi planter et tre for hver ordre.", "position": "bottom"}
    assert staff.post(SIMPLE, {**draft, "action": "save"}).status_code == 302
    from factories import order
    from shopmail.flows.ingest import ingest

    snapshot = order("556", status="processing")
    snapshot["customer"]["language"] = "nb-NO"
    ingest(orders=[snapshot])
    drain()
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(2)}
    mail = mails["customer556@example.com"]
    assert "Vi planter et tre for hver ordre." in mail.get_body(("plain",)).get_content()


@pytest.mark.parametrize("position", extra.POSITIONS)
def test_every_notification_takes_extra_text_in_both_parts(position):
    from shopmail.mail.notifications import LANGUAGES, NOTIFICATIONS

    for key in NOTIFICATIONS:
        for language in LANGUAGES:
            standard = rendering.default_source(key, language)
            source = extra.compose(standard, "", "Extra **words** for {{ company_name }}.", position)
            assert rendering.validate(key, source, language) == [], (key, language)
            context = rendering.sample_context(key, language)
            rendered = rendering.render(key, language, context, source)
            assert "Extra <strong>words</strong> for Fjord &amp; Fell." in rendered.html, (key, language)
            assert "Extra words for Fjord & Fell." in rendered.text, (key, language)


def test_send_me_a_test_sends_the_unsaved_simple_draft_to_the_signed_in_user(staff, smtp_store, smtp_server):
    response = staff.post(SIMPLE, {**DRAFT, "action": "test"})
    assert response.status_code == 200 and 'id="test-result"' in response.content.decode()
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("boss@shop.test",)
    assert received.message["Subject"] == "[Test] Ordre 10023 er bekreftet {ikke kode}"
    assert "Ikke HTML" in received.message.get_body(("plain",)).get_content()
    assert TemplateVersion.objects.count() == 0 and Message.objects.count() == 0


def test_send_me_a_test_of_a_refused_draft_sends_nothing(staff, smtp_store, smtp_server):
    response = staff.post(SIMPLE, {**DRAFT, "extra_text": "Hei {{ customer.password }}", "action": "test"})
    assert response.status_code == 422 and 'id="test-result"' not in response.content.decode()
    assert smtp_server.messages == [] and TemplateVersion.objects.count() == 0
