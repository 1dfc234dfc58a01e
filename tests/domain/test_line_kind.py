"""Line `kind` (SPEC section 3): downloads and services are never "still to ship" and never hold
back `order_shipped` (issue 20, item 1)."""

from __future__ import annotations

from factories import evolve, order, shipment
from shopmail.domain.changes import diff, fully_shipped, remaining


def mixed(**overrides):
    lines = [
        {"id": "1", "sku": "LAMP", "name": "Lamp", "quantity": 1, "unit_price": "49.00"},
        {"id": "2", "sku": "CHAIR", "name": "Chair", "quantity": 2, "unit_price": "80.00"},
        {
            "id": "3",
            "sku": "PHOTOPRO",
            "name": "PhotoPro software",
            "quantity": 1,
            "unit_price": "99.00",
            "kind": "download",
            "download": {"url": "https://dl.example.com/photopro", "license_keys": ["AAAA-BBBB"]},
        },
        {
            "id": "4",
            "sku": "SETUP",
            "name": "Installation",
            "quantity": 1,
            "unit_price": "30.00",
            "kind": "service",
        },
    ]
    return order(status="processing", lines=lines, **overrides)


def test_download_and_service_lines_are_not_still_to_ship():
    snap = mixed(shipments=[shipment("s1", {"1": 1})])
    assert [item["line"] for item in remaining(snap)] == ["2"]


def test_last_physical_shipment_of_a_mixed_order_is_order_shipped():
    old = mixed(shipments=[shipment("s1", {"1": 1})])
    new = evolve(old, 60, shipments=[shipment("s1", {"1": 1}), shipment("s2", {"2": 2})])
    assert fully_shipped(new)
    assert [c.rule for c in diff(old, new)] == ["order_shipped"]


def test_first_shipment_of_a_mixed_order_is_partial():
    old = mixed()
    new = evolve(old, 60, shipments=[shipment("s1", {"1": 1})])
    assert [c.rule for c in diff(old, new)] == ["order_partially_shipped"]


def test_expected_date_change_of_a_download_is_not_announced():
    old = mixed()
    new = evolve(old, 30)
    new["lines"][2]["expected_delivery_date"] = "2026-12-01"
    new["lines"][3]["expected_delivery_date"] = "2026-12-01"
    assert diff(old, new) == []
    new["lines"][0]["expected_delivery_date"] = "2026-12-01"
    assert [(c.rule, c.line) for c in diff(old, new)] == [("expected_delivery_date_changed", "1")]


def test_physical_is_the_default_kind():
    snap = order(status="processing")
    assert [item["line"] for item in remaining(snap)] == ["1"]
