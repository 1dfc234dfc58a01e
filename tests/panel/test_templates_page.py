"""The template editor: list, save (refused with line and reason), live preview, test, history."""

from __future__ import annotations

import re

import pytest

from shopmail.mail.models import Message, TemplateVersion
from shopmail.mail.notifications import LANGUAGES, NOTIFICATIONS
from shopmail.mail.worker import drain

pytestmark = pytest.mark.django_db

EDIT = "/admin/templates/order_confirmed/en/"
GOOD = {
    "subject": "Thanks for order {{ order.number }}",
    "html": "<p>Hello {{ customer.first_name }}, we have order {{ order.number }}. Fresh wording!</p>",
    "text": "Hello {{ customer.first_name }}, we have order {{ order.number }}. Fresh wording!",
}


def test_list_shows_every_notification_and_language(staff):
    TemplateVersion.objects.create(notification="order_shipped", language="nb", subject="s", text="t")
    page = staff.get("/admin/templates/").content.decode()
    links = set(re.findall(r'href="/admin/templates/([a-z_]+)/([a-z]{2})/"', page))
    assert links == {(key, language) for key in NOTIFICATIONS for language in LANGUAGES}
    assert 'href="/admin/templates/order_shipped/nb/"' in page and "customised" in page


def test_editor_lists_the_variables_of_this_notification(staff):
    page = staff.get("/admin/templates/order_partially_shipped/de/").content.decode()
    assert (
        "<dt>order.number</dt>" in page
        and "<dt>remaining</dt>" in page
        and "<dt>shipment.carrier</dt>" in page
    )
    assert "<dt>reset_url</dt>" not in page
    assert 'srcdoc="&lt;' in page  # the current template, previewed with the sample order
    assert "panel/editor.js" in page


def test_syntax_error_is_refused_with_line_and_reason(staff):
    response = staff.post(EDIT, {**GOOD, "html": "<p>\n{% if order.number %}\n<b>unclosed</p>"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Not saved" in page and "HTML: line 3:" in page
    assert 'id="id_html" class="html" spellcheck="false" rows="22" aria-invalid="true"' in page
    assert "&lt;b&gt;unclosed" in page  # the draft is kept in the editor
    assert TemplateVersion.objects.count() == 0


def test_unknown_variable_is_refused(staff):
    response = staff.post(EDIT, {**GOOD, "text": "Hi\n{{ customer.password }}"})
    assert response.status_code == 422
    assert "Text: line 2: unknown variable &#x27;customer.password&#x27;" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_valid_change_is_saved_and_used_by_the_next_mail(staff, staff_user, placed, smtp_store, smtp_server):
    Message.objects.all().delete()
    response = staff.post(EDIT, {**GOOD, "action": "save", "html": GOOD["html"].replace("\n", "\r\n")})
    assert response.status_code == 302
    version = TemplateVersion.objects.get()
    assert version.created_by == staff_user.username and version.subject == GOOD["subject"]
    from factories import order
    from shopmail.flows.ingest import ingest

    ingest(orders=[order("555", status="processing")])
    drain()
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(2)}
    mail = mails["customer555@example.com"]
    assert mail["Subject"] == "Thanks for order 555"
    assert "Fresh wording!" in mail.get_body(("html",)).get_content()
    page = staff.get(EDIT).content.decode()
    assert f"version {version.pk}" in page and ">live</span>" in page


def test_live_preview_json_renders_the_draft(staff, placed):
    response = staff.post(EDIT + "preview/", GOOD)
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True
    assert body["subject"] == "Thanks for order 10023" and "Fresh wording!" in body["html"]
    body = staff.post(EDIT + "preview/", {**GOOD, "order": "10023"}).json()
    assert body["ok"] and "Ana" in body["text"]
    body = staff.post(EDIT + "preview/", {**GOOD, "order": "nope"}).json()
    assert body["ok"] is False and "there is no order" in body["problems"][0]["msg"]
    body = staff.post(EDIT + "preview/", {**GOOD, "subject": "{{ order.number"}).json()
    assert body["ok"] is False and body["problems"][0]["part"] == "subject"
    assert TemplateVersion.objects.count() == 0


def test_preview_button_works_without_javascript(staff, placed):
    response = staff.post(EDIT, {**GOOD, "action": "preview", "order": "10023"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Thanks for order 10023" in page and "Fresh wording!" in page
    assert TemplateVersion.objects.count() == 0


def test_send_me_a_test_goes_to_the_signed_in_user(staff, smtp_store, smtp_server):
    response = staff.post(EDIT, {**GOOD, "action": "test"})
    assert response.status_code == 200 and b"Test e-mail sent" in response.content
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("boss@shop.test",)
    assert received.message["Subject"] == "[Test] Thanks for order 10023"
    assert TemplateVersion.objects.count() == 0 and Message.objects.count() == 0


def test_restore_default_and_history(staff):
    staff.post(EDIT, GOOD)
    first = TemplateVersion.objects.get()
    staff.post(EDIT, {**GOOD, "subject": "Second {{ order.number }}"})
    response = staff.post(EDIT + "restore/")
    assert response.status_code == 302
    page = staff.get(EDIT).content.decode()
    assert "the packaged default" in page and "default restored" in page
    assert TemplateVersion.objects.count() == 3
    version_page = staff.get(f"{EDIT}versions/{first.pk}/").content.decode()
    assert "Thanks for order {{ order.number }}" in version_page and "Thanks for order 10023" in version_page
    loaded = staff.get(f"{EDIT}?version={first.pk}").content.decode()
    assert 'value="Thanks for order {{ order.number }}"' in loaded and "loaded into the editor" in loaded
