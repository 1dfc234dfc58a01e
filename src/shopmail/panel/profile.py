"""A staff user's own page: the language the panel speaks to them (issue 27), and the way to
change their password."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shopmail.panel import language
from shopmail.panel.access import staff_required
from shopmail.panel.forms import PanelForm


class LanguageForm(PanelForm):
    language = forms.ChoiceField(
        label=_("Panel language"),
        choices=language.CHOICES,
        help_text=_("The control panel speaks this language to you; other staff users choose their own."),
        error_messages={
            "invalid_choice": _("Choose English, Norsk bokmål or Deutsch."),
            "required": _("Choose English, Norsk bokmål or Deutsch."),
        },
    )


@staff_required
def profile_page(request: HttpRequest) -> HttpResponseBase:
    current = language.for_user(request.user)
    if request.method == "POST":
        form = LanguageForm(request.POST)
        if form.is_valid():
            chosen = language.choose(request.user, form.cleaned_data["language"])
            translation.activate(chosen)  # the confirmation in the language just chosen
            request.LANGUAGE_CODE = chosen  # type: ignore[attr-defined]
            messages.success(
                request,
                gettext("The panel now speaks %(language)s to you.")
                % {"language": dict(language.CHOICES)[chosen]},
            )
            return redirect("panel:profile")
        return _page(request, form, status=400)
    return _page(request, LanguageForm(initial={"language": current}))


def _page(request: HttpRequest, form: LanguageForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "panel/profile.html",
        {"form": form, "chosen": language.chosen(request.user) is not None},
        status=status,
    )
