"""/api/docs and the OpenAPI document (SPEC section 2): interactive docs served from this server,
and for every call a response schema with an example, and the error schemas."""

from __future__ import annotations

import pytest

from shopmail.api import openapi

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_api_docs_answers_with_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/openapi.json" in html
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html  # works offline and under a strict CSP


def test_every_call_has_a_recorded_example(document):
    missing = [
        f"{m.upper()} {p}" for m, p, _ in operations(document) if f"{m.upper()} {p}" not in openapi.examples()
    ]
    assert missing == [], "run scripts/api-examples to record these calls"


def test_every_call_documents_its_answer_and_errors(document):
    schemas = document["components"]["schemas"]
    assert {"Error", "ValidationErrors", "Unavailable"} <= set(schemas)
    for method, path, operation in operations(document):
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert len(success) == 1, (method, path, list(responses))
        answer = responses[success[0]]
        if success[0] != "204":
            content = answer["content"]["application/json"]
            assert content["schema"].get("type") == "object" and "example" in content, (method, path)
        assert responses["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ValidationErrors"
        }
        assert "401" in responses
        if "{" in path:
            assert "404" in responses, (method, path)
        if method == "post" and "security" in operation:
            assert "409" in responses
            assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert "example" in body, (method, path)


def test_the_examples_are_real_answers(document):
    put = document["paths"]["/api/v1/orders/{order_id}"]["put"]
    example = put["responses"]["200"]["content"]["application/json"]["example"]
    assert example["order"] == "10023" and example["stale"] is False
    assert put["requestBody"]["content"]["application/json"]["example"]["id"] == "10023"
    settings = document["paths"]["/api/v1/settings"]["get"]["responses"]["200"]["content"]["application/json"]
    assert settings["example"]["platform"] == "woocommerce"
    assert settings["schema"]["properties"]["unmapped_statuses"]["type"] == "array"
