"""A large sync's orders validated in a second process while the run writes them (ADR 0013): the
same result as validating everything first, and an invalid order still leaves nothing written."""

from __future__ import annotations

import orjson
import pytest

from factories import order
from shopmail.core.errors import Rejected
from shopmail.flows import validation
from shopmail.flows.ingest import collect, ingest
from shopmail.mail.models import Message
from shopmail.store import syncfile
from shopmail.store.models import Order, OrderEvent, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)

N = 50  # orders in a run; chunks of 8, so the run is written in seven chunks


class Watched(validation.Ahead):
    """The real second process, with what went to it and from which process it answered."""

    made: list[Watched] = []

    def __init__(self) -> None:
        super().__init__()
        self.submitted = 0
        Watched.made.append(self)

    def submit(self, kind, entries, context):
        self.submitted += len(entries)
        return super().submit(kind, entries, context)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(collect, "CHUNK", 8)
    monkeypatch.setattr(collect, "AHEAD_FROM", 20)
    monkeypatch.setattr(collect, "AHEAD_FIRST", 4)
    monkeypatch.setattr(validation, "Ahead", Watched)
    Watched.made = []


def _document(orders: list[dict], lines: dict[int, bytes] | None = None) -> syncfile.SyncDocument:
    text = [orjson.dumps({"kind": "order", **o}) for o in orders]
    for index, line in (lines or {}).items():
        text[index] = line
    return syncfile.parse(b"\n".join(text) + b"\n")


def _stored() -> dict[str, dict]:
    return dict(Order.objects.values_list("external_id", "snapshot"))


def test_a_large_sync_validated_ahead_stores_what_a_run_validated_first_stores(store, small_chunks):
    orders = [order(str(i), status="processing") for i in range(N)]
    result = ingest(**_document(orders).lists(), source="test")
    [ahead] = Watched.made
    assert ahead.submitted == N and not ahead.broken  # every order went to the second process
    assert result.counts["orders"].new == N and len(result.messages) == 2 * N
    stored = _stored()

    Order.objects.all().delete()
    Message.objects.all().delete()
    first = ingest(orders=orders, source="test")  # a list: validated whole before the transaction
    assert len(Watched.made) == 1
    assert _stored() == stored  # the same snapshots, however they were validated
    assert [m["notification"] for m in first.messages] == [m["notification"] for m in result.messages]


def test_the_second_process_checks_exactly_as_this_one(store):
    lines = [
        syncfile.RawLine(1, orjson.dumps(order("1", status="processing"))),
        syncfile.RawLine(2, b"{not json"),
        syncfile.RawLine(3, orjson.dumps({**order("3"), "status": ""})),
        syncfile.RawLine(4, orjson.dumps({**order("4"), "note": "a\\u0000b"}).replace(b"\\\\u", b"\\u")),
    ]
    entries = [(i, line, b"\\u0000" in line.data) for i, line in enumerate(lines)]
    ahead = validation.Ahead()
    try:
        future = ahead.submit("orders", entries, {"time_zone": None})
        there = ahead.result(future, "orders", entries, {"time_zone": None})
    finally:
        ahead.close()
    assert not ahead.broken
    assert there == validation.check("orders", entries, {"time_zone": None})
    assert [(key, parsed, value is not None, bool(errors)) for key, parsed, value, errors in there] == [
        ("1", True, True, False),
        ("", False, False, True),
        ("3", True, False, True),
        ("4", True, False, True),
    ]


def test_an_invalid_order_late_in_the_run_leaves_nothing_written_and_every_error_listed(store, small_chunks):
    orders = [order(str(i), status="processing") for i in range(N)]
    doc = _document(orders, {5: b'{"kind":"order","id":"5"}', N - 2: b'{"kind":"order","id":"x",broken}'})
    with pytest.raises(Rejected) as raised:
        ingest(**doc.lists(), source="test")
    places = [error["loc"][:2] for error in raised.value.errors]
    assert ["orders", 5] in places and ["orders", N - 2] in places  # the first chunk's and the last's
    assert not Order.objects.exists() and not Message.objects.exists()  # the transaction rolled back
    assert not OrderEvent.objects.exists() and not SyncRun.objects.exists()


def test_a_partial_run_validated_ahead_writes_the_valid_orders_and_lists_the_rest(store, small_chunks):
    orders = [order(str(i), status="processing") for i in range(N)]
    doc = _document(orders, {N - 3: b'{"kind":"order","id":"x",broken}'})
    result = ingest(**doc.lists(), source="test", partial=True)
    assert [r["index"] for r in result.rejected] == [N - 3]
    assert set(_stored()) == {str(i) for i in range(N)} - {str(N - 3)}


def test_an_order_twice_in_a_run_validated_ahead_is_refused_as_in_any_run(store, small_chunks):
    orders = [order(str(i), status="processing") for i in range(N)]
    orders[N - 1] = order("3", status="processing")  # the fourth order again, in the last chunk
    with pytest.raises(Rejected) as raised:
        ingest(**_document(orders).lists(), source="test")
    assert [(e["loc"], e["msg"]) for e in raised.value.errors] == [
        (["orders", N - 1, "id"], "appears more than once in this run")
    ]
    assert not Order.objects.exists()


def test_another_kinds_error_lists_the_orders_errors_too_before_any_write(store, small_chunks):
    orders = [order(str(i), status="processing") for i in range(N)]
    doc = _document(orders, {N - 1: b'{"kind":"order","id":"x",broken}'})
    doc.products.append({"sku": "", "stock_quantity": 1})
    with pytest.raises(Rejected) as raised:
        ingest(**doc.lists(), source="test")
    kinds = [error["loc"][0] for error in raised.value.errors]
    assert kinds[0] == "orders" and "products" in kinds  # the orders' first, as in any run
    assert not Order.objects.exists() and not SyncRun.objects.exists()


def test_a_second_process_that_fails_leaves_the_run_to_this_one(store, small_chunks, monkeypatch, caplog):
    class Refusing:
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, *args, **kwargs):
            raise OSError("no processes here")

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(validation, "ProcessPoolExecutor", Refusing)
    orders = [order(str(i), status="processing") for i in range(N)]
    result = ingest(**_document(orders).lists(), source="test")
    assert Watched.made[0].broken and "validating here" in caplog.text
    assert result.counts["orders"].new == N and set(_stored()) == {str(i) for i in range(N)}


def test_a_re_sync_that_is_mostly_unchanged_starts_no_second_process(store, small_chunks):
    orders = [order(str(i), status="processing") for i in range(N)]
    ingest(**_document(orders).lists(), source="test")
    orders[N - 1] = dict(orders[N - 1], status="completed", updated_at="2026-11-20T12:00:00+00:00")
    result = ingest(**_document(orders).lists(), source="test")
    assert result.counts["orders"].changed == 1 and result.counts["orders"].unchanged == N - 1
    assert len(Watched.made) == 2 and Watched.made[0].submitted == N
    assert Watched.made[1]._pool is None and Watched.made[1].submitted == 0
