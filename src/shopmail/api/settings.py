"""Store settings (SPEC section 2, ``/api/v1/settings``): the HTTP face of ``store.store_settings``,
which the control panel uses too; secrets are write-only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import body_schema, json_body, json_response
from shopmail.store import store_settings

router = Router(tags=["settings"])


@router.get("/settings", summary="Store settings")
def get_settings(request: HttpRequest) -> HttpResponse:
    return json_response(store_settings.view())


@router.patch(
    "/settings",
    summary="Change store settings",
    openapi_extra=body_schema(store_settings.patch_model(), "Only the fields given are changed."),
)
def patch_settings(request: HttpRequest) -> HttpResponse:
    return json_response(store_settings.view(store_settings.patch(json_body(request))))
