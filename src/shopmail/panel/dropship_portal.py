"""The drop-shipper portal at ``/dropship/`` (SPEC section 7).

A drop-shipper signs in with the password chosen through the invitation link and sees only the
not-yet-shipped lines of their suppliers (order number, ship-to address, product, quantity) —
never the customer's e-mail, never other suppliers' lines, never the panel (their user is not
staff). A shipment they enter goes through ``flows.actions`` like one from staff (the customer
gets the shipment e-mail naming the drop-shipper). These views run a flow, so they live with the
adapters, here; the data and the rules of what is visible are ``shopmail.dropship``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.views.decorators.http import require_POST

from shopmail.core.errors import Rejected
from shopmail.core.staff import harden
from shopmail.dropship import service
from shopmail.dropship.models import DropShipper
from shopmail.flows import actions

View = Callable[..., HttpResponse]


def current(request: HttpRequest) -> DropShipper | None:
    user = request.user
    if not user.is_authenticated or user.is_staff:
        return None
    return DropShipper.objects.filter(user_id=user.pk).first()


def dropshipper_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        dropshipper = current(request)
        if dropshipper is None:
            return redirect(f"/dropship/login/?next={request.path}")
        return view(request, dropshipper, *args, **kwargs)

    return wrapped


def login_page(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        email = request.POST.get("email", "").strip().lower()[:254]
        user = authenticate(
            request, username=f"{service.USERNAME_PREFIX}{email}", password=request.POST.get("password", "")
        )
        if user is not None and not user.is_staff and DropShipper.objects.filter(user_id=user.pk).exists():
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            target = request.POST.get("next") or "/dropship/"
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}) or not target.startswith(
                "/dropship/"
            ):
                target = "/dropship/"
            return redirect(target)
        error = "That e-mail address and password do not match a drop-shipper login."
    status = 401 if error else 200
    return render(
        request, "dropship/login.html", {"error": error, "next": request.GET.get("next", "")}, status=status
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/dropship/login/")


def invite(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The invitation link: choose a password once; the link then stops working."""
    try:
        user = get_user_model().objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        user = None
    valid = (
        user is not None
        and not user.is_staff
        and DropShipper.objects.filter(user_id=user.pk).exists()
        and default_token_generator.check_token(user, token)
    )
    if not valid or user is None:
        return render(request, "dropship/invite_invalid.html", status=404)
    errors: list[str] = []
    if request.method == "POST":
        password = request.POST.get("password", "")
        if password != request.POST.get("password2", ""):
            errors.append("The two passwords differ.")
        else:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                errors.extend(exc.messages)
        if not errors:
            user.set_password(password)
            user.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            update_session_auth_hash(request, user)
            messages.success(request, "Your password is set. Welcome!")
            return redirect("/dropship/")
    return render(request, "dropship/invite.html", {"errors": errors}, status=422 if errors else 200)


@dropshipper_required
def home(request: HttpRequest, dropshipper: DropShipper) -> HttpResponse:
    return render(
        request,
        "dropship/home.html",
        {"dropshipper": dropshipper, "orders": service.visible_orders(dropshipper)},
    )


@dropshipper_required
@require_POST
def ship(request: HttpRequest, dropshipper: DropShipper, order_id: str) -> HttpResponse:
    visible = service.visible_order(dropshipper, order_id)
    if visible is None:
        raise Http404("nothing of this order is yours to ship")
    if request.POST.get("version") and request.POST["version"] != visible["version"]:
        messages.error(
            request, f"Order {visible['number']} changed meanwhile (or the form was sent twice): check it."
        )
        return redirect("/dropship/")
    lines = []
    for line in visible["lines"]:
        raw = (request.POST.get(f"qty_{line['line_id']}") or "").strip()
        if raw and raw != "0":
            lines.append({"line_id": line["line_id"], "quantity": int(raw) if raw.isdigit() else raw})
    shipment: dict[str, Any] = {"lines": lines, "drop_shipper": dropshipper.name}
    for name in ("carrier", "tracking_number", "tracking_url", "shipped_at"):
        value = (request.POST.get(name) or "").strip()
        if value:
            shipment[name] = value
    try:
        answer = actions.run(
            order_id,
            {"action": "ship", "shipment": shipment},
            f"drop-shipper {dropshipper.name} <{dropshipper.email}>",
            preview=False,
        )
    except Rejected as exc:
        errors = [err["msg"] for err in exc.errors]
        return render(
            request,
            "dropship/home.html",
            {
                "dropshipper": dropshipper,
                "orders": service.visible_orders(dropshipper),
                "errors": errors,
                "error_order": order_id,
            },
            status=422,
        )
    told = "the customer is told" if answer["messages"] else "no e-mail was due"
    messages.success(request, f"Shipment for order {visible['number']} saved; {told}.")
    return redirect("/dropship/")


def hardened(view: View) -> View:
    """The panel's headers: no caching (ship-to addresses), a strict CSP, no framing."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        harden(response)
        return response

    return wrapped


urlpatterns = [
    path("", hardened(home), name="dropship_home"),
    path("login/", hardened(login_page), name="dropship_login"),
    path("logout/", hardened(logout_view), name="dropship_logout"),
    path("invite/<str:uidb64>/<str:token>/", hardened(invite), name="dropship_invite"),
    path("orders/<str:order_id>/ship/", hardened(ship), name="dropship_ship"),
]
