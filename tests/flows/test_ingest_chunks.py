"""A run's orders are validated a chunk at a time inside its transaction, each chunk applied
before the next is read: an invalid order in a later chunk still refuses the whole run (what was
applied is rolled back), every error is listed, and ``partial`` keeps the valid ones of every
chunk. ``CHUNK`` is made 3 here so that seven orders are three chunks."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.core.errors import Rejected
from shopmail.flows import ingest as ingest_pkg
from shopmail.flows.ingest import collect as collect_mod
from shopmail.flows.ingest import run as run_mod
from shopmail.mail.models import Message
from shopmail.store.models import Customer, Order, OrderEvent, Product, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(collect_mod, "CHUNK", 3)
    monkeypatch.setattr(run_mod, "CHUNK", 3)


def orders(count, *, bad=()):
    made = [order(str(100 + i), status="processing") for i in range(count)]
    for index in bad:
        made[index]["created_at"] = "not a time"
    return made


def nothing_written():
    return not any(
        model.objects.exists() for model in (Order, OrderEvent, Message, Customer, Product, SyncRun)
    )


@pytest.fixture
def applied(monkeypatch):
    """The chunks ``apply_orders`` was given (their first order's index)."""
    calls = []
    real = run_mod.apply_orders

    def spy(chunk, *args):
        calls.append(chunk[0].index)
        return real(chunk, *args)

    monkeypatch.setattr(run_mod, "apply_orders", spy)
    return calls


def test_an_invalid_order_in_a_later_chunk_refuses_the_whole_run(store, applied):
    with pytest.raises(Rejected) as refused:
        ingest_pkg.ingest(orders=orders(7, bad=[6]))
    assert [error["loc"][:2] for error in refused.value.errors] == [["orders", 6]]
    assert applied == [0, 3]  # the first two chunks were applied ...
    assert nothing_written()  # ... and rolled back with the run


def test_an_invalid_order_in_the_first_chunk_is_refused_before_the_transaction(store, applied, monkeypatch):
    from django.db import transaction

    entered = []
    real_atomic = transaction.atomic
    monkeypatch.setattr(
        run_mod.transaction, "atomic", lambda *a, **k: entered.append(1) or real_atomic(*a, **k)
    )
    with pytest.raises(Rejected) as refused:
        ingest_pkg.ingest(orders=orders(7, bad=[1, 4]))
    listed = sorted({tuple(error["loc"][:2]) for error in refused.value.errors})
    assert listed == [("orders", 1), ("orders", 4)]  # the later chunks validated too, for the list
    assert applied == [] and entered == []  # no write lock taken, as a single bad PUT before
    assert nothing_written()


def test_an_exact_copy_of_an_order_of_a_written_chunk_is_refused_as_a_repeat(store):
    made = orders(5)
    made.append(dict(made[0]))  # byte for byte, in the second chunk, after the first was written
    with pytest.raises(Rejected) as refused:
        ingest_pkg.ingest(orders=made)
    assert refused.value.errors == [{"loc": ["orders", 5, "id"], "msg": "appears more than once in this run"}]
    assert nothing_written()


def test_a_dry_run_of_several_chunks_reports_them_all_and_keeps_nothing(store):
    result = ingest_pkg.ingest(orders=orders(7), dry_run=True)
    assert result.counts["orders"].new == 7
    assert {message["order"] for message in result.messages} == {str(100 + i) for i in range(7)}
    assert nothing_written()


def test_every_invalid_order_is_listed_not_only_the_first(store):
    with pytest.raises(Rejected) as refused:
        ingest_pkg.ingest(orders=orders(7, bad=[1, 6]))
    listed = sorted({tuple(error["loc"][:2]) for error in refused.value.errors})
    assert listed == [("orders", 1), ("orders", 6)]
    assert nothing_written()


def test_a_stream_of_orders_is_refused_whole_too(store):
    with pytest.raises(Rejected):
        ingest_pkg.ingest(orders=(item for item in orders(7, bad=[6])))
    assert nothing_written()


def test_partial_keeps_the_valid_orders_of_every_chunk(store):
    result = ingest_pkg.ingest(orders=orders(7, bad=[1, 5]), partial=True)
    assert set(Order.objects.values_list("external_id", flat=True)) == {"100", "102", "103", "104", "106"}
    assert [(r["kind"], r["index"]) for r in result.rejected] == [("orders", 1), ("orders", 5)]
    assert result.counts["orders"].new == 5 and result.counts["orders"].rejected == 2
    assert Message.objects.filter(order__external_id="106").exists()


def test_an_id_repeated_in_a_later_chunk_is_refused(store):
    made = orders(5)
    made[4]["id"] = made[0]["id"]
    with pytest.raises(Rejected) as refused:
        ingest_pkg.ingest(orders=made)
    assert refused.value.errors == [{"loc": ["orders", 4, "id"], "msg": "appears more than once in this run"}]
    assert nothing_written()


def test_an_invalid_product_lists_the_orders_errors_first_and_writes_nothing(store):
    with pytest.raises(Rejected) as refused:
        ingest_pkg.ingest(orders=orders(7, bad=[4]), products=[{"sku": "MUG", "stock_quantity": "many"}])
    assert [error["loc"][0] for error in refused.value.errors] == ["orders", "products"]
    assert nothing_written()


def test_partial_lists_rejected_orders_before_other_kinds(store):
    result = ingest_pkg.ingest(
        orders=orders(7, bad=[4]),
        products=[{"sku": "MUG", "stock_quantity": "many"}, {"sku": "CUP", "stock_quantity": 2}],
        partial=True,
    )
    assert [(r["kind"], r["index"]) for r in result.rejected] == [("orders", 4), ("products", 0)]
    assert Order.objects.count() == 6 and Product.objects.get().sku == "CUP"
    assert SyncRun.objects.get().summary["rejected"] == result.rejected


def test_a_stream_met_by_a_concurrent_run_is_not_run_again_on_an_empty_read(store, monkeypatch):
    from django.db import IntegrityError

    calls = []
    real = run_mod._ingest_once

    def conflicting(items, *args):
        calls.append(1)
        if len(calls) == 1:
            list(items)  # read, as a run reads it, then the conflict of a concurrent run
            raise IntegrityError("UNIQUE constraint failed: store_order.external_id")
        return real(items, *args)

    monkeypatch.setattr(run_mod, "_ingest_once", conflicting)
    with pytest.raises(IntegrityError):  # a second pass would find the stream empty
        ingest_pkg.ingest(orders=(item for item in orders(2)))
    assert len(calls) == 1 and not Order.objects.exists()
    calls.clear()
    result = ingest_pkg.ingest(orders=orders(2))  # a list is read again: retried, and applied
    assert len(calls) == 2 and result.counts["orders"].new == 2


def test_a_conflict_after_a_chunk_was_applied_retries_the_whole_run_from_the_start(store, monkeypatch):
    from django.db import IntegrityError

    real = run_mod.apply_orders
    calls = []

    def conflicting(chunk, *args):
        calls.append(chunk[0].index)
        if calls == [0, 3]:  # the second chunk of the first attempt meets a concurrent run
            raise IntegrityError("UNIQUE constraint failed: store_order.external_id")
        return real(chunk, *args)

    monkeypatch.setattr(run_mod, "apply_orders", conflicting)
    result = ingest_pkg.ingest(orders=orders(7))
    assert calls == [0, 3, 0, 3, 6]  # the first chunk's writes were rolled back and made again
    assert result.counts["orders"].new == 7 and Order.objects.count() == 7
    assert Message.objects.filter(notification="order_confirmed").count() == 7  # none twice
