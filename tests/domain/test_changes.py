"""Change detection: every milestone and order-update rule of SPEC section 4."""

from __future__ import annotations

import copy

from factories import evolve, order, shipment
from shopmail.domain.changes import back_in_stock, backordered_skus, diff, effective_date, restocked


def rules(changes):
    return [c.rule for c in changes]


def test_new_pending_order_is_received():
    assert rules(diff(None, order(status="pending"))) == ["order_received"]


def test_new_processing_order_is_confirmed():
    assert rules(diff(None, order(status="processing"))) == ["order_confirmed"]


def test_new_cancelled_order_announces_nothing():
    assert diff(None, order(status="cancelled")) == []


def test_same_snapshot_twice_yields_nothing():
    snap = order(status="processing", picked=True)
    assert diff(snap, copy.deepcopy(snap)) == []


def test_leaving_pending_confirms():
    old = order(status="pending")
    change = diff(old, evolve(old, 5, status="processing"))
    assert rules(change) == ["order_confirmed"]
    assert (change[0].before, change[0].after) == ("pending", "processing")


def test_status_change_between_processing_states_is_an_update():
    old = order(status="processing")
    [change] = diff(old, evolve(old, 5, status="invoiced", status_label="Invoiced"))
    assert change.rule == "status_changed"
    assert (change.before, change.after) == ("processing", "invoiced")
    assert "Invoiced" in change.description


def test_cancellation_is_a_milestone():
    old = order(status="processing")
    assert rules(diff(old, evolve(old, 5, status="cancelled"))) == ["order_cancelled"]


def test_flags_turning_true():
    old = order(status="processing")
    assert rules(diff(old, evolve(old, 5, picked=True, delivery_note_printed=True))) == [
        "delivery_note_printed",
        "picked",
    ]
    assert diff(evolve(old, 5, picked=True), evolve(old, 6, picked=False)) == []


def test_first_shipment_of_two_lines_is_partial_then_second_completes():
    old = order(status="processing")
    old["lines"].append({"id": "2", "sku": "TEE", "name": "T-shirt", "quantity": 1, "unit_price": "15.00"})
    one = evolve(old, 5, shipments=[shipment("s1", {"1": 2})])
    [first] = diff(old, one)
    assert (first.rule, first.shipment, first.after) == ("order_partially_shipped", "s1", "1Z999")
    two = evolve(one, 6, shipments=[*one["shipments"], shipment("s2", {"2": 1}, tracking="1Z1000")])
    [second] = diff(one, two)
    assert (second.rule, second.shipment) == ("order_shipped", "s2")


def test_drop_shipper_is_named():
    old = order(status="processing")
    ship = shipment("s1", {"1": 2})
    ship["drop_shipper"] = "Acme Direct"
    [change] = diff(old, evolve(old, 5, shipments=[ship]))
    assert change.rule == "order_shipped"
    assert "Acme Direct" in change.description


def test_tracking_number_added_later():
    old = order(status="processing", shipments=[shipment("s1", {"1": 1}, tracking=None)])
    [change] = diff(old, evolve(old, 5, shipments=[shipment("s1", {"1": 1}, tracking="1Z777")]))
    assert (change.rule, change.shipment, change.before, change.after) == (
        "shipment_number_entered",
        "s1",
        None,
        "1Z777",
    )


def test_delivered_quantity_change():
    old = order(status="processing")
    new = evolve(old, 5)
    new["lines"][0]["delivered_quantity"] = 1
    [change] = diff(old, new)
    assert (change.rule, change.line, change.before, change.after) == (
        "delivered_quantity_changed",
        "1",
        0,
        1,
    )


def test_line_date_null_follows_order_date():
    old = order(status="processing", expected_delivery_date="2026-12-03")
    [change] = diff(old, evolve(old, 5, expected_delivery_date="2026-12-09"))
    assert change.rule == "expected_delivery_date_changed"
    assert (change.before, change.after, change.line) == ("2026-12-03", "2026-12-09", "1")
    assert change.description == "Expected delivery of Mug moved from 3 Dec 2026 to 9 Dec 2026"


def test_purchase_order_date_is_the_last_fallback():
    old = order(status="processing")
    old["lines"][0]["purchase_order_expected_date"] = "2026-12-01"
    assert effective_date(old["lines"][0], old) == "2026-12-01"
    new = evolve(old, 5)
    new["lines"][0]["purchase_order_expected_date"] = "2026-12-15"
    [change] = diff(old, new)
    assert (change.before, change.after) == ("2026-12-01", "2026-12-15")
    # The line's own date wins over both fallbacks.
    new["lines"][0]["expected_delivery_date"] = "2026-12-20"
    new["expected_delivery_date"] = "2026-12-10"
    assert effective_date(new["lines"][0], new) == "2026-12-20"


def test_date_of_fully_delivered_line_is_ignored():
    old = order(status="processing", expected_delivery_date="2026-12-03")
    old["lines"][0]["delivered_quantity"] = 2
    assert diff(old, evolve(old, 5, expected_delivery_date="2026-12-09")) == []


def test_restocked_only_from_zero_or_less():
    assert restocked(0, 5) and restocked(-2, 1)
    assert not restocked(3, 5) and not restocked(0, 0) and not restocked(None, 5)


def test_back_in_stock_for_open_backordered_line():
    snap = order(status="processing")
    snap["lines"][0]["backordered"] = True
    assert backordered_skus(snap) == {"MUG-01"}
    [change] = back_in_stock(snap, "MUG-01")
    assert (change.rule, change.line) == ("back_in_stock", "1")
    assert back_in_stock(snap, "OTHER") == []
    assert back_in_stock(evolve(snap, 5, status="cancelled"), "MUG-01") == []


def test_a_change_as_a_dict_is_dataclasses_asdict_and_shares_nothing_mutable():
    import dataclasses

    from shopmail.domain.changes import Change

    nested = {"lines": [{"id": "1", "quantity": 2}]}
    for change in (
        Change("status_changed", "pending", "processing", before_meaning="pending", after_meaning="done"),
        Change("expected_delivery_date_changed", None, "2026-12-24", line="1", description="x"),
        Change("order_refunded", nested, [1, 2], refund="r-1"),
    ):
        as_dict = change.as_dict()
        assert as_dict == dataclasses.asdict(change)
        assert list(as_dict) == [f.name for f in dataclasses.fields(change)]
    as_dict["before"]["lines"][0]["quantity"] = 99
    assert nested["lines"][0]["quantity"] == 2
