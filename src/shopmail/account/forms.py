"""My page forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from shopmail.account.models import CustomerAccount
from shopmail.mail.notifications import LANGUAGES
from shopmail.store.models import Customer

LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål", "de": "Deutsch"}


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ForgotForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class _NewPassword(forms.Form):
    """Two password fields checked by the store's password validators."""

    new_password1 = forms.CharField(
        label=_("New password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validators_help_texts()),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, customer: Customer, *args: Any, **kwargs: Any) -> None:
        self.customer = customer
        super().__init__(*args, **kwargs)

    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second = str(self.cleaned_data.get("new_password2") or "")
        if first and second and first != second:
            raise forms.ValidationError(_("The two passwords are not the same."), code="password_mismatch")
        if first:
            validate_password(second, self.customer)  # type: ignore[arg-type]  # reads names and email
        return second


class SetPasswordForm(_NewPassword):
    """Choosing a password through an invitation or reset link."""


class ChangePasswordForm(_NewPassword):
    """Changing the password: the current one first."""

    field_order = ["current_password", "new_password1", "new_password2"]
    current_password = forms.CharField(
        label=_("Current password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, account: CustomerAccount, *args: Any, **kwargs: Any) -> None:
        self.account = account
        super().__init__(account.customer, *args, **kwargs)

    def clean_current_password(self) -> str:
        current = str(self.cleaned_data.get("current_password") or "")
        if not check_password(current, self.account.password):
            raise forms.ValidationError(_("Your current password is not right."), code="password_incorrect")
        return current


class ContactDetailsForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=200, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=200, required=False)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    phone = forms.RegexField(
        label=_("Phone"),
        max_length=40,
        required=False,
        regex=r"^[0-9+()./\- ]*$",
        error_messages={"invalid": _("Use digits, spaces and + ( ) - . / only.")},
    )
    country = forms.RegexField(
        label=_("Country (two-letter code, e.g. NO)"),
        max_length=2,
        required=False,
        regex=r"^[A-Za-z]{2}$",
        error_messages={"invalid": _("Use the two-letter country code, e.g. NO, DE or GB.")},
    )
    current_password = forms.CharField(
        label=_("Current password (needed to change your e-mail address)"),
        max_length=4096,
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, account: CustomerAccount, *args: Any, **kwargs: Any) -> None:
        self.account = account
        super().__init__(*args, **kwargs)

    def clean_country(self) -> str:
        return str(self.cleaned_data.get("country") or "").upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        email = str(data.get("email") or "")
        changing = bool(email) and email.strip().lower() != self.account.customer.email.strip().lower()
        if changing and not check_password(data.get("current_password") or "", self.account.password):
            self.add_error(
                "current_password", _("Enter your current password to change your e-mail address.")
            )
        return data

    def changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name].strip() for name in ("first_name", "last_name", "email", "phone")
        } | {"country": self.cleaned_data["country"]}


class SettingsForm(forms.Form):
    newsletter_opt_in = forms.BooleanField(label=_("Send me the newsletter"), required=False)
    language = forms.ChoiceField(
        label=_("Language of e-mails"), choices=[(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES]
    )


class ThreadForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    order = forms.ChoiceField(label=_("About an order (optional)"), required=False)
    message = forms.CharField(label=_("Message"), max_length=20_000, widget=forms.Textarea)

    def __init__(self, orders: list[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [("", "—"), *orders]  # type: ignore[attr-defined]


class ReplyForm(forms.Form):
    message = forms.CharField(label=_("Your reply"), max_length=20_000, widget=forms.Textarea)


class BackorderForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("How should we ship?"),
        widget=forms.RadioSelect,
        choices=[],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from shopmail.support.backorder import LABELS

        super().__init__(*args, **kwargs)
        self.fields["choice"].choices = [  # type: ignore[attr-defined]
            (key, gettext_lazy(words)) for key, words in LABELS.items()
        ]
