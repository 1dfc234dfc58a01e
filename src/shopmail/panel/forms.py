"""Forms of the control panel. Validation that the API also does is left to the shared code
(``store_settings.patch``, ``editing.save``, ``actions``); these forms only shape what a browser sends."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shopmail.mail.actions import CUSTOM_MESSAGE_MAX, ORDER_NOTIFICATIONS
from shopmail.mail.models import Status
from shopmail.mail.notifications import LANGUAGES, NOTIFICATIONS
from shopmail.panel.dates import StoreDateField
from shopmail.panel.names import notification_choices, notification_name

LANGUAGE_NAMES = {"en": _("English"), "nb": _("Norwegian (bokmål)"), "de": _("German")}
TRANSPORT_KINDS = [
    ("smtp", _("SMTP server")),
    ("sendmail", _("Local sendmail program")),
    ("capture", _("Local capture (keep mail on this machine, send nothing)")),
]
SECURITY = [
    ("starttls", _("STARTTLS (port 587)")),
    ("tls", _("TLS (port 465)")),
    ("none", _("None: plain text, trusted networks only")),
]


class PanelForm(forms.Form):
    """Labels without Django's trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def language_choices() -> list[tuple[str, str]]:
    return [(code, str(LANGUAGE_NAMES.get(code, code))) for code in LANGUAGES]


class StoreForm(PanelForm):
    company_name = forms.CharField(label=_("Store name"), max_length=200)
    company_url = forms.CharField(
        label=_("Store web address"), max_length=500, widget=forms.URLInput(attrs={"placeholder": "https://"})
    )
    admin_email = forms.EmailField(
        label=_("Staff notifications go to"),
        required=False,
        help_text=_("New orders, return requests, contact and help-desk messages. Empty: no staff mail."),
    )
    from_name = forms.CharField(label=_("From name"), max_length=200, required=False)
    from_email = forms.EmailField(label=_("From address"))
    reply_to = forms.EmailField(
        label=_("Reply-To address"), required=False, help_text=_("Empty: replies go to the From address.")
    )
    default_language = forms.ChoiceField(
        label=_("Default language"),
        help_text=_("For customers whose language is unknown, and for staff e-mails."),
    )
    brand_color = forms.CharField(
        label=_("Accent colour"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text=_("The header and buttons of every e-mail and of My page."),
    )
    logo_url = forms.URLField(
        label=_("Logo address"),
        required=False,
        max_length=2000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text=_(
            "An https:// link to your logo (PNG or JPEG, about 40 pixels high); it heads every e-mail"
            " and customer page. Empty: the store name."
        ),
    )
    logo_file = forms.FileField(
        label=_("…or upload a logo"),
        required=False,
        help_text=_("PNG, JPEG or GIF, at most 256 KB. It replaces the logo address above."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/gif"}),
    )
    footer_text = forms.CharField(
        label=_("Footer text"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Under every e-mail and customer page: your address, VAT id, ..."),
    )
    update_digest_minutes = forms.IntegerField(
        label=_("Collect order updates for (minutes)"),
        required=False,  # empty: 0, off
        min_value=0,
        max_value=1440,
        help_text=_(
            "0: each update is sent at once. Above 0: updates of one order within this time go out"
            " as one e-mail. Confirmations and shipment notices are never held."
        ),
    )
    notify_since = forms.DateTimeField(
        label=_("Send e-mail for orders created after (UTC)"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Older orders are stored and kept up to date, but their customers get no e-mail."),
    )
    allow_backorder_choice = forms.BooleanField(
        label=_("Let customers choose one shipment or several when lines are back-ordered"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_language"].choices = language_choices()  # type: ignore[attr-defined]


class TransportForm(PanelForm):
    kind = forms.ChoiceField(label=_("Send e-mail with"), choices=TRANSPORT_KINDS, widget=forms.RadioSelect)
    host = forms.CharField(
        label=_("Host name"),
        max_length=253,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, required=False)
    security = forms.ChoiceField(label=_("Security"), choices=SECURITY, required=False)
    username = forms.CharField(
        label=_("Username"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )
    clear_password = forms.BooleanField(label=_("Remove the stored password"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "smtp" and not data.get("host"):
            self.add_error("host", _("Enter the SMTP server's host name."))
        return data


class TestMailForm(PanelForm):
    to = forms.EmailField(label=_("Send a test e-mail to"))


class CustomMessageForm(PanelForm):
    custom_message = forms.CharField(
        label=_("Personal message (optional)"),
        required=False,
        max_length=CUSTOM_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown at the top of the e-mail."),
    )


class NotifyForm(CustomMessageForm):
    notification = forms.ChoiceField(
        label=_("Notification"), choices=[(key, key) for key in ORDER_NOTIFICATIONS]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notification"].choices = [  # type: ignore[attr-defined]
            (key, f"{notification_name(key)}: {gettext(NOTIFICATIONS[key].description)}")
            for key in ORDER_NOTIFICATIONS
        ]


class MessageFilterForm(PanelForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    notification = forms.ChoiceField(label=_("Notification"), required=False)
    to = forms.CharField(label=_("Recipient"), required=False, max_length=254)
    after = forms.DateField(label=_("From date"), required=False)
    before = forms.DateField(label=_("To date"), required=False)
    order = forms.CharField(label=_("Order"), required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # in the store's format (issue 27), made here so a changed store setting shows at once
        self.fields["after"] = StoreDateField(label=_("From date"), required=False, help_text="")
        self.fields["before"] = StoreDateField(label=_("To date"), required=False, help_text="")
        self.fields["status"].choices = [("", _("any")), *Status.choices]  # type: ignore[attr-defined]
        self.fields["notification"].choices = [  # type: ignore[attr-defined]
            ("", _("any")),
            *notification_choices(),
        ]


class SyncForm(PanelForm):
    file = forms.FileField(
        label=_("Sync file (JSON, or NDJSON with one order, product or customer per line)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.ndjson,.jsonl,application/json"}),
    )
    silent = forms.BooleanField(
        label=_("Silent: store everything but send no e-mail (e.g. a first import)"), required=False
    )
    partial = forms.BooleanField(
        label=_("Partial: apply the valid items and list the rejected ones"), required=False
    )


class ApiKeyForm(PanelForm):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Who or what uses it, e.g. “webshop”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("May only"),
        choices=[("ingest", _("send orders, customers, products and events")), ("read", _("read (GET)"))],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Nothing ticked: every API call."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Empty: never."),
    )


class StaffForm(PanelForm):
    email = forms.EmailField(label=_("E-mail address (signs in with it)"))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    is_superuser = forms.BooleanField(label=_("Administrator (can manage staff users)"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data
