"""Drop-shipper logins in the panel (SPEC section 7): create (an invitation link by e-mail, no
password), send the invitation again, remove."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shopmail.dropship import service
from shopmail.dropship.models import DropShipper
from shopmail.panel.access import staff_required


def _page(request: HttpRequest, status: int = 200, errors: list[str] | None = None) -> HttpResponse:
    rows = [service.public_json(d) for d in DropShipper.objects.select_related("user").order_by("name", "pk")]
    return render(
        request,
        "panel/dropshippers.html",
        {"dropshippers": rows, "errors": errors or [], "form": request.POST if errors else {}},
        status=status,
    )


@staff_required
def dropshipper_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@staff_required
@require_POST
def dropshipper_create(request: HttpRequest) -> HttpResponse:
    suppliers = [s.strip() for s in request.POST.get("suppliers", "").split(",") if s.strip()]
    try:
        dropshipper, message = service.create(
            request.POST.get("name", ""), request.POST.get("email", ""), suppliers
        )
    except service.Invalid as exc:
        return _page(request, 422, [f"{err['loc'][1]}: {err['msg']}" for err in exc.errors])
    if message:
        done = _("Drop-shipper %(name)s created; an invitation e-mail is queued.")
    else:
        done = _("Drop-shipper %(name)s created; the dropshipper_invite e-mail is switched off.")
    messages.success(request, done % {"name": dropshipper.name})
    return redirect("panel:dropshippers")


@staff_required
@require_POST
def dropshipper_invite(request: HttpRequest, pk: int) -> HttpResponse:
    dropshipper = get_object_or_404(DropShipper.objects.select_related("user"), pk=pk)
    message = service.invite(dropshipper)
    if message:
        messages.success(request, _("Invitation to %(email)s queued.") % {"email": dropshipper.email})
    else:
        messages.success(
            request, _("Invitation to %(email)s not sent (switched off).") % {"email": dropshipper.email}
        )
    return redirect("panel:dropshippers")


@staff_required
@require_POST
def dropshipper_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dropshipper = get_object_or_404(DropShipper.objects.select_related("user"), pk=pk)
    service.delete(dropshipper)
    messages.success(request, _("Drop-shipper %(name)s removed.") % {"name": dropshipper.name})
    return redirect("panel:dropshippers")
