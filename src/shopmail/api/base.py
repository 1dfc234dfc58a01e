"""The NinjaAPI object, its authentication and its error format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from shopmail.api import keys
from shopmail.core.errors import Rejected


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key = keys.check(token)
        if key is not None and not keys.allows(key, request.method or "GET", _api_path(request)):
            raise HttpError(403, f"this API key may only {' and '.join(key.scopes)}")
        return key


def _api_path(request: HttpRequest) -> str:
    path = request.path
    return path[len("/api/v1") :] if path.startswith("/api/v1/") else path


api = NinjaAPI(
    title="shopmail",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    auth=ApiKeyAuth(),
    description="Order notifications and customer e-mail for webshops. Every call needs "
    "`Authorization: Bearer <api key>` (create one with `shopmail apikey create --name NAME`).",
)


def errors_response(errors: list[dict[str, Any]], status: int = 422) -> HttpResponse:
    return HttpResponse(orjson.dumps({"detail": errors}), status=status, content_type="application/json")


@api.exception_handler(Rejected)
def _rejected(request: HttpRequest, exc: Rejected) -> HttpResponse:
    return errors_response(exc.errors)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return errors_response(
        [{"loc": list(error.get("loc", [])), "msg": str(error.get("msg", "invalid"))} for error in exc.errors]
    )


def json_body(request: HttpRequest, expect: type = dict) -> Any:
    """The request body parsed as JSON, or a 422 naming the problem."""
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError as exc:
        raise Rejected([{"loc": ["body"], "msg": f"is not valid JSON: {exc}"}]) from None
    if not isinstance(body, expect):
        raise Rejected(
            [{"loc": ["body"], "msg": f"must be a JSON {expect.__name__.replace('dict', 'object')}"}]
        )
    return body


def json_response(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status, content_type="application/json"
    )


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def body_schema(model: Any, description: str = "") -> dict[str, Any]:
    """``openapi_extra`` documenting a request body from a Pydantic model, refs inlined.

    Bodies are parsed by hand (so raw JSON can be hashed and every bad field named in one 422),
    and this keeps the OpenAPI document describing them exactly.
    """
    schema = model.model_json_schema()
    schema = _inline(schema, schema.get("$defs", {}))
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def object_body(
    properties: dict[str, Any],
    required: Sequence[str] = (),
    example: dict[str, Any] | None = None,
    optional: bool = False,
) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON object body by its properties, for a body that has
    no Pydantic model (``body_schema`` for one that has)."""
    schema: dict[str, Any] = {"type": "object"}
    if required:
        schema["required"] = list(required)
    schema["properties"] = properties
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"requestBody": {"required": not optional, "content": {"application/json": media}}}
