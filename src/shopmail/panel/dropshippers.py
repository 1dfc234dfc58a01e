"""Drop-shipper logins in the panel (SPEC section 7): create (an invitation link by e-mail, no
password), send the invitation again, remove."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
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
    sent = "an invitation e-mail is queued" if message else "the dropshipper_invite e-mail is switched off"
    messages.success(request, f"Drop-shipper {dropshipper.name} created; {sent}.")
    return redirect("panel:dropshippers")


@staff_required
@require_POST
def dropshipper_invite(request: HttpRequest, pk: int) -> HttpResponse:
    dropshipper = get_object_or_404(DropShipper.objects.select_related("user"), pk=pk)
    message = service.invite(dropshipper)
    messages.success(
        request, f"Invitation to {dropshipper.email} {'queued' if message else 'not sent (switched off)'}."
    )
    return redirect("panel:dropshippers")


@staff_required
@require_POST
def dropshipper_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dropshipper = get_object_or_404(DropShipper.objects.select_related("user"), pk=pk)
    service.delete(dropshipper)
    messages.success(request, f"Drop-shipper {dropshipper.name} removed.")
    return redirect("panel:dropshippers")
