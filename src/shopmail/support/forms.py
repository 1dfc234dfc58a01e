"""Forms of the support app: the public contact form and the staff decisions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    order = forms.CharField(label=_("Order number (optional)"), max_length=64, required=False)
    message = forms.CharField(label=_("Message"), max_length=20_000, widget=forms.Textarea)
    # The honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling bots.
    website = forms.CharField(label=_("Leave this field empty"), max_length=500, required=False)

    def clean_order(self) -> str:
        value = str(self.cleaned_data.get("order") or "").strip()
        if "\n" in value or "\r" in value:
            raise forms.ValidationError(_("One line only."))
        return value


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    comment = forms.CharField(
        label=_("Comment to the customer"), max_length=5000, required=False, widget=forms.Textarea
    )


class StaffReplyForm(forms.Form):
    message = forms.CharField(label=_("Reply"), max_length=20_000, widget=forms.Textarea)
