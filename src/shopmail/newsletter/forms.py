"""Forms of the newsletter wizard."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from shopmail.newsletter import segments
from shopmail.newsletter.models import Segment


class ComposeForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=500)
    html = forms.CharField(
        label=_("HTML"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
        help_text=_("Write or paste HTML. It is put into the store's newsletter layout as it is."),
    )
    generate_text = forms.BooleanField(
        label=_("Generate the text part from the HTML"), required=False, initial=True
    )
    text = forms.CharField(
        label=_("Text part"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("What mail programs show when they do not show HTML. Untick the box above to edit it."),
    )


def _date(label: Any) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


class SegmentForm(forms.Form):
    saved = forms.ModelChoiceField(
        Segment.objects.all(), required=False, empty_label=_("— new segment: use the filters below —"),
        label=_("Saved segment"),
    )  # fmt: skip
    language = forms.CharField(
        label=_("Language"), required=False, help_text=_("Language codes, e.g. en, nb (any of them).")
    )
    country = forms.CharField(
        label=_("Country"), required=False, help_text=_("Country codes, e.g. NO, SE (any of them).")
    )
    registered_after = _date(_("Registered on or after"))
    registered_before = _date(_("Registered before"))
    ordered_sku = forms.CharField(
        label=_("Ordered SKU"), required=False, help_text=_("SKUs, e.g. MUG-01, SOCK-W (any of them).")
    )
    min_orders = forms.IntegerField(label=_("At least this many orders"), required=False, min_value=0)
    min_total_spent = forms.DecimalField(
        label=_("Spent at least"), required=False, min_value=0, decimal_places=2
    )
    last_order_after = _date(_("Last order on or after"))
    last_order_before = _date(_("Last order before"))
    save_as = forms.CharField(
        label=_("Save these filters as a segment named"), required=False, max_length=200,
        help_text=_("Optional: reuse them for later newsletters."),
    )  # fmt: skip

    def raw_filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        raw: dict[str, Any] = {}
        for name in segments.FILTERS:
            value = data.get(name)
            if value in (None, ""):
                continue
            raw[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
            if name == "min_orders":
                raw[name] = int(value)
        return raw

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and data.get("saved") is None:
            try:
                segments.clean(self.raw_filters())
            except segments.SegmentError as exc:
                for error in exc.errors:
                    field = str(error["loc"][1]) if len(error["loc"]) > 1 else None
                    self.add_error(field if field in self.fields else None, error["msg"])
        return data

    @classmethod
    def initial_for(cls, filters: dict[str, Any], segment: Segment | None) -> dict[str, Any]:
        initial: dict[str, Any] = {"saved": segment}
        for name, value in filters.items():
            initial[name] = ", ".join(value) if isinstance(value, list) else value
        return initial


class TestSendForm(forms.Form):
    to = forms.CharField(
        label=_("Send a test to"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One or more addresses, separated by commas or new lines. The subject starts with [Test]."
        ),
    )


class SendForm(forms.Form):
    when = forms.ChoiceField(
        choices=(("now", _("Send now")), ("later", _("Send at a scheduled time"))),
        initial="now",
        widget=forms.RadioSelect,
        label=_("When"),
    )
    at = forms.DateTimeField(
        label=_("Scheduled time (UTC)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    rate_per_hour = forms.IntegerField(
        label=_("At most this many an hour"),
        required=False,
        min_value=1,
        help_text=_("Optional. Empty: as fast as the mail server takes them (order mail still goes first)."),
    )
    confirm = forms.BooleanField(label=_("Yes, send it to these recipients"), required=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("when") == "later" and not data.get("at"):
            self.add_error("at", _("Choose the time to send at."))
        return data
