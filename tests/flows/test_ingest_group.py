"""Group commit of single-order runs (``flows/ingest/group.py``, ADR 0013): orders that arrive
while a run is under way are applied together in the next run, each answered with its own
entry; a failed group runs its members again alone, so each gets exactly its own answer; a
second snapshot of one order waits for the next group; a lone order runs at once."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest
from django.db import connections

from factories import evolve, order
from shopmail.core.errors import Rejected
from shopmail.flows.ingest import ingest
from shopmail.flows.ingest.group import Group
from shopmail.mail.models import Message
from shopmail.store.models import Order, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


class Gated:
    """The real ``ingest`` of a list of orders, recording each run's ids; the first run waits
    for ``release`` so that the test can queue orders behind it."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []
        self.release = threading.Event()

    def __call__(self, bodies: list[Any]) -> Any:
        self.runs.append([body["id"] for body in bodies])
        if len(self.runs) == 1:
            assert self.release.wait(10)
        return ingest(orders=bodies, source="api")


class Submitted(threading.Thread):
    def __init__(self, group: Group, body: dict[str, Any]):
        super().__init__()
        self.group, self.body = group, body
        self.entry: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.entry = self.group.submit(self.body["id"], self.body)
        except BaseException as error:
            self.error = error
        finally:
            connections.close_all()


def waiting(group: Group, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(group._waiting) < count:
        assert time.monotonic() < deadline, "the orders never queued behind the first run"
        time.sleep(0.005)


def queue_behind_a_run(bodies: list[dict[str, Any]], limit: int = 64) -> tuple[Gated, Group, list[Submitted]]:
    gated = Gated()
    group = Group(gated, limit=limit)
    first = Submitted(group, order("900"))
    deadline = time.monotonic() + 10
    while not gated.runs:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    behind: list[Submitted] = []
    for count, body in enumerate(bodies, 1):  # queued in this order
        behind.append(Submitted(group, body))
        waiting(group, count)
    gated.release.set()
    for thread in [first, *behind]:
        thread.join(20)
        assert not thread.is_alive()
    return gated, group, [first, *behind]


def test_orders_arriving_during_a_run_are_applied_together_each_with_its_own_entry(store):
    gated, group, threads = queue_behind_a_run([order(str(n)) for n in (901, 902, 903)])

    assert gated.runs == [["900"], ["901", "902", "903"]]
    assert group.grouped == 3
    assert SyncRun.objects.count() == 2
    for thread in threads:
        assert thread.error is None
        entry = thread.entry
        assert entry is not None and entry["order"] == thread.body["id"]
        assert [change["rule"] for change in entry["changes"]] == ["order_received"]
        assert {message["to"] for message in entry["messages"]} == {
            f"customer{thread.body['id']}@example.com",
            "staff@shop.test",
        }
    assert Order.objects.count() == 4
    assert Message.objects.count() == 8


def test_a_group_with_an_invalid_order_runs_each_alone_so_only_that_one_is_refused(store):
    bad = order("902")
    bad["created_at"] = "not a time"
    gated, group, threads = queue_behind_a_run([order("901"), bad, order("903")])

    assert gated.runs == [["900"], ["901", "902", "903"], ["901"], ["902"], ["903"]]
    assert group.grouped == 0
    refused = threads[2]
    assert isinstance(refused.error, Rejected) and refused.entry is None
    assert [error["loc"] for error in refused.error.errors] == [["orders", 0, "created_at"]]
    for thread in (threads[0], threads[1], threads[3]):
        assert thread.error is None and thread.entry is not None
        assert [change["rule"] for change in thread.entry["changes"]] == ["order_received"]
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["900", "901", "903"]
    assert Message.objects.count() == 6


def test_a_second_snapshot_of_an_order_waits_for_the_next_group_and_is_applied_after_the_first(store):
    placed = order("901")
    done = evolve(placed, 5, status="completed", status_label="Completed")
    gated, group, threads = queue_behind_a_run([placed, order("902"), done])

    assert gated.runs == [["900"], ["901", "902"], ["901"]]
    assert group.grouped == 2
    assert Order.objects.get(external_id="901").status == "completed"
    assert [change["rule"] for change in threads[1].entry["changes"]] == ["order_received"]
    assert [change["rule"] for change in threads[3].entry["changes"]][-1] == "order_completed"


def test_a_failed_group_is_run_alone_member_by_member_before_a_later_snapshot_of_one_of_them(store):
    placed = order("901")
    bad = order("902")
    bad["created_at"] = "not a time"
    done = evolve(placed, 5, status="completed", status_label="Completed")
    gated, _group, threads = queue_behind_a_run([placed, bad, done])

    assert gated.runs == [["900"], ["901", "902"], ["901"], ["902"], ["901"]]
    assert [change["rule"] for change in threads[1].entry["changes"]] == ["order_received"]
    assert threads[1].entry["stale"] is False
    assert isinstance(threads[2].error, Rejected)
    assert [change["rule"] for change in threads[3].entry["changes"]][-1] == "order_completed"
    assert Order.objects.get(external_id="901").status == "completed"


def test_a_group_takes_at_most_its_limit_and_the_rest_forms_the_next(store):
    gated, group, threads = queue_behind_a_run([order(str(n)) for n in (901, 902, 903)], limit=2)

    assert gated.runs == [["900"], ["901", "902"], ["903"]]
    assert group.grouped == 2
    assert all(thread.error is None and thread.entry for thread in threads)
    assert Order.objects.count() == 4


def test_a_waiter_interrupted_while_it_waits_leaves_and_passes_on_the_lead(store):
    """An asynchronous exception (here SIGALRM in the main thread) in a waiting request must not
    leave the group waiting for a leader that is gone."""
    gated = Gated()
    group = Group(gated)
    first = Submitted(group, order("900"))
    deadline = time.monotonic() + 10
    while not gated.runs:
        assert time.monotonic() < deadline
        time.sleep(0.005)

    def interrupt(signum: int, frame: Any) -> None:
        raise TimeoutError("interrupted")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(TimeoutError):
            group.submit("901", order("901"))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    later = Submitted(group, order("902"))  # queued behind the run, after the one that left
    waiting(group, 1)
    gated.release.set()
    for thread in (first, later):
        thread.join(20)
        assert not thread.is_alive(), "the group waits for a leader that left"
        assert thread.error is None
    assert gated.runs == [["900"], ["902"]]
    assert not group._leading and not group._waiting
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["900", "902"]


def test_a_lone_order_runs_at_once_and_raises_its_own_error(store):
    gated = Gated()
    gated.release.set()
    group = Group(gated)
    entry = group.submit("900", order("900"))
    assert entry["order"] == "900" and gated.runs == [["900"]]
    bad = order("901")
    bad["created_at"] = "not a time"
    with pytest.raises(Rejected) as refused:
        group.submit("901", bad)
    assert [error["loc"] for error in refused.value.errors] == [["orders", 0, "created_at"]]
    assert gated.runs == [["900"], ["901"]]  # refused in its own run, not run twice
    assert not group._leading and not group._waiting


def test_concurrent_api_puts_each_get_their_own_order_back(api):
    """Eight clients at once through the API: whatever groups form, every order is stored once
    with its two e-mails, and every answer is its own order's."""
    answers: dict[str, Any] = {}

    def put(number: int) -> None:
        try:
            key = str(1000 + number)
            answers[key] = api.put(f"/orders/{key}", order(key))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=put, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 16
    for key, response in answers.items():
        assert response.status_code == 200, response.content
        assert response.json()["order"] == key
        assert len(response.json()["messages"]) == 2
    assert Order.objects.count() == 16
    assert Message.objects.count() == 32


def test_api_orders_are_grouped_on_sqlite_and_run_side_by_side_on_postgresql(store, monkeypatch):
    from django.db import connection

    from shopmail.flows.ingest import ingest_order
    from shopmail.flows.ingest import run as run_mod

    gated = Gated()
    gated.release.set()
    monkeypatch.setattr(run_mod, "_api_orders", Group(gated))
    entry = ingest_order("900", order("900"))
    assert [change["rule"] for change in entry["changes"]] == ["order_received"]
    assert gated.runs == ([["900"]] if connection.vendor == "sqlite" else [])
    assert Order.objects.filter(external_id="900").exists()
