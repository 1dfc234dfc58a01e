"""The OpenAPI document, completed (SPEC section 2): response and error schemas and an example
for every call.

Bodies are parsed and answered by hand (see ``api.base``), so django-ninja only knows that a call
answers "200 OK". ``install`` wraps the API's ``get_openapi_schema`` to add, per operation:

* the success answer with a JSON schema and a real example, from ``openapi_examples.json``
  (written by ``scripts/api-examples``, which runs every call once on a throw-away database);
* the request example beside the request body schema;
* the error answers every call can give: 401 (no or wrong key, or signature), 404 (unknown id),
  409 (an ``Idempotency-Key`` used with another request), 422 (``{"loc", "msg"}`` per field)
  and 503 (``database_full`` / ``database_unavailable``), each with its schema and an example;
* the optional ``Idempotency-Key`` header of every POST.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from ninja import NinjaAPI

EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
        "example": {"detail": "order not found"},
    },
    "ValidationErrors": {
        "type": "object",
        "properties": {
            "detail": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "loc": {
                            "type": "array",
                            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                        "msg": {"type": "string"},
                    },
                    "required": ["loc", "msg"],
                },
            }
        },
        "required": ["detail"],
        "example": {
            "detail": [
                {
                    "loc": ["body", "customer", "email"],
                    "msg": "Value error, must be exactly one e-mail address",
                },
                {
                    "loc": ["body", "totals", "total"],
                    "msg": "String should match pattern '^-?[0-9]{1,12}(\\.[0-9]{1,6})?$'",
                },
            ]
        },
    },
    "Unavailable": {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "reason": {"type": "string", "enum": ["database_full", "database_unavailable"]},
        },
        "required": ["detail", "reason"],
        "example": {
            "detail": "the database cannot take a write now; try again",
            "reason": "database_unavailable",
        },
    },
}

_ERRORS: dict[str, tuple[str, str]] = {
    "401": (
        "Error",
        "No API key, or a wrong or revoked one (`Authorization: Bearer <api key>`); nothing changed.",
    ),
    "404": ("Error", "No such object."),
    "409": (
        "Error",
        "This `Idempotency-Key` was used with another request, or its first call is still running.",
    ),
    "422": ("ValidationErrors", "Bad input: every offending field named; nothing changed."),
    "503": (
        "Unavailable",
        "The database or disk cannot take a write now (with `Retry-After`); nothing changed.",
    ),
}
_SIGNED_401 = "A missing or wrong signature; nothing stored."

IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeat a POST safely: the same key (per API key, kept 24 hours) answers what the first "
    "call answered and does nothing again; the same key with another body gets 409.",
    "schema": {"type": "string", "maxLength": 255},
    "example": "9f1c2e0a-sync-2026-11-21T08:00",
}


@functools.cache
def examples() -> dict[str, dict[str, Any]]:
    """``{"METHOD /api/v1/path": {"status", "request"?, "response"}}``."""
    try:
        data: dict[str, dict[str, Any]] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:  # pragma: no cover - the file ships with the package
        return {}
    return data


def infer_schema(value: Any) -> dict[str, Any]:
    """A JSON schema that the example ``value`` satisfies (types and properties, nothing more)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": infer_schema(value[0]) if value else {}}
    if isinstance(value, dict):
        return {"type": "object", "properties": {key: infer_schema(item) for key, item in value.items()}}
    return {}


_ERROR_EXAMPLES: dict[str, Any] = {
    "401": {"detail": "Unauthorized"},
    "404": {"detail": "not found"},
    "409": {"detail": "this Idempotency-Key was used with another request"},
}


def _error(code: str, name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}"},
                "example": _ERROR_EXAMPLES.get(code, ERROR_SCHEMAS[name]["example"]),
            }
        },
    }


def _complete(method: str, path: str, operation: dict[str, Any]) -> None:
    example = examples().get(f"{method.upper()} {path}")
    responses: dict[str, Any] = {str(code): value for code, value in operation.get("responses", {}).items()}
    operation["responses"] = responses
    if example is not None:
        status = str(example["status"])
        if status != "200" and list(responses) == ["200"]:
            responses.pop("200")
        answer = responses.setdefault(status, {"description": "Accepted" if status == "202" else "OK"})
        if example.get("response") is not None:
            body = example["response"]
            answer["content"] = {"application/json": {"schema": infer_schema(body), "example": body}}
        if "request" in example and "requestBody" in operation:
            content = operation["requestBody"].get("content", {}).get("application/json")
            if content is not None:  # a raw report (message/rfc822) is shown by its schema only
                content.setdefault("example", example["request"])
    else:  # a call added since scripts/api-examples last ran: its answer is at least JSON
        for code, answer in responses.items():
            if code.startswith("2") and code != "204":
                answer.setdefault("content", {"application/json": {"schema": {"type": "object"}}})
    signed = "security" not in operation  # the shop webhooks: signed instead of an API key
    wanted = ["401", "422"]
    if "{" in path:
        wanted.append("404")
    if method in ("post", "put", "patch", "delete"):
        wanted.append("503")
    if method == "post" and not signed:
        wanted.append("409")
        params = operation.setdefault("parameters", [])
        if not any(p.get("name") == IDEMPOTENCY_HEADER["name"] for p in params):
            params.append(dict(IDEMPOTENCY_HEADER))
    for code in sorted(wanted):
        name, description = _ERRORS[code]
        if code == "401" and signed:
            description = _SIGNED_401
        responses.setdefault(code, _error(code, name, description))


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in ERROR_SCHEMAS.items():
        components.setdefault(name, body)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and method in ("get", "put", "post", "patch", "delete"):
                _complete(method, path, operation)
    return schema


def install(api: NinjaAPI) -> None:
    """Make ``api`` serve the completed document (``/api/v1/openapi.json`` and the docs)."""
    original = api.get_openapi_schema

    @functools.wraps(original)
    def get_openapi_schema(*args: Any, **kwargs: Any) -> Any:
        return complete(original(*args, **kwargs))

    api.get_openapi_schema = get_openapi_schema  # type: ignore[method-assign]
