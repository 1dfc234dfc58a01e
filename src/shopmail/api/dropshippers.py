"""Drop-shipper logins (SPEC sections 2 and 7): ``POST``/``GET /api/v1/dropshippers``,
``DELETE /api/v1/dropshippers/{id}``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import json_body, json_response, object_body
from shopmail.core.errors import Rejected
from shopmail.dropship import service
from shopmail.dropship.models import DropShipper

router = Router(tags=["dropshippers"])


@router.post(
    "/dropshippers",
    summary="Create a drop-shipper login; it gets a dropshipper_invite e-mail with a one-time link",
    openapi_extra=object_body(
        {
            "name": {"type": "string"},
            "email": {"type": "string"},
            "suppliers": {"type": "array", "items": {"type": "string"}},
        },
        required=["name", "email", "suppliers"],
        example={"name": "Mugs Ltd", "email": "orders@mugs.example", "suppliers": ["Mugs Ltd"]},
    ),
)
def create_dropshipper(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    unknown = sorted(set(body) - {"name", "email", "suppliers"})
    if unknown:
        raise Rejected([{"loc": ["body", name], "msg": "is not a drop-shipper field"} for name in unknown])
    try:
        dropshipper, message = service.create(body.get("name"), body.get("email"), body.get("suppliers"))
    except service.Invalid as exc:
        raise Rejected(exc.errors) from None
    return json_response(
        {**service.public_json(dropshipper), "invite_message": message.pk if message else None}, 201
    )


@router.get("/dropshippers", summary="Drop-shipper logins")
def list_dropshippers(request: HttpRequest) -> HttpResponse:
    rows = DropShipper.objects.select_related("user").order_by("name", "pk")
    return json_response({"items": [service.public_json(d) for d in rows]})


@router.delete("/dropshippers/{dropshipper_id}", summary="Remove a drop-shipper login")
def delete_dropshipper(request: HttpRequest, dropshipper_id: int) -> HttpResponse:
    dropshipper = DropShipper.objects.select_related("user").filter(pk=dropshipper_id).first()
    if dropshipper is None:
        return json_response({"detail": "drop-shipper not found"}, status=404)
    service.delete(dropshipper)
    return HttpResponse(status=204)
