"""Fault injection (issue 18): the worker and the web app under infrastructure faults.

Real faults, no mocks: SQLite's own "database or disk is full" (``PRAGMA max_page_count`` on
every connection), the aiosmtpd test server stopped and started again, ``kill -9`` of a worker
and of ``serve``, and (test_postgres_restart.py) a PostgreSQL restart under load. Each test
prints and asserts what the SMTP server received, by Message-ID: sent, lost, repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.test import Client
from django.utils import timezone

from factories import order
from fixtures.delivery import Server, shopmail_process
from shopmail.mail.models import Attempt, Message, Status, WorkerBeat
from shopmail.mail.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def tally(received: Iterable[str | None], expected: Iterable[str]) -> dict[str, int]:
    """sent (distinct expected Message-IDs received), lost, repeated (receipts beyond the first)."""
    counts = Counter(received)
    wanted = set(expected)
    sent = sum(1 for mid in wanted if counts[mid])
    return {
        "expected": len(wanted),
        "sent": sent,
        "lost": len(wanted) - sent,
        "repeated": sum(n - 1 for mid, n in counts.items() if mid in wanted and n > 1),
        "strangers": sum(n for mid, n in counts.items() if mid not in wanted),
    }


def wait_until(condition, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def all_sent() -> bool:
    return not Message.objects.exclude(status=Status.SENT).exists()


def queue_orders(api, count: int, prefix: str = "F") -> None:
    for start in range(0, count, 100):
        orders = [order(f"{prefix}{i}", status="processing") for i in range(start, min(count, start + 100))]
        assert api.post("/sync", {"orders": orders}).status_code == 200


@pytest.fixture
def start_worker() -> Iterator[Callable[[], Worker]]:
    """A worker in a thread of this process, as in ``shopmail serve``; stopped at the end."""
    running: list[tuple[Worker, threading.Thread]] = []

    def start() -> Worker:
        worker = Worker(concurrency=2, stop=threading.Event())
        thread = threading.Thread(target=lambda: asyncio.run(worker.run()), daemon=True)
        thread.start()
        running.append((worker, thread))
        return worker

    yield start
    for worker, thread in running:
        worker.stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()


@pytest.fixture
def web() -> Client:
    """A test client that answers as the server would: an exception becomes Django's 500
    handler's answer instead of being raised into the test."""
    return Client(raise_request_exception=False)


# -- SQLite: database or disk is full ---------------------------------------------------------


@pytest.fixture
def full_database():
    """Make every connection of this process refuse to grow the SQLite file: SQLite raises its
    own "database or disk is full" (SQLITE_FULL). ``lift()`` gives the space back."""
    if connection.vendor != "sqlite":
        pytest.skip("PRAGMA max_page_count is SQLite's")

    def limit(sender, connection, **kwargs) -> None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {int(pages)}")

    class Full:
        def fill(self) -> None:
            # Pages freed by earlier tests (the file is reused, emptied between tests) would let
            # writes go on without growing the file: VACUUM drops them, so "full" means full.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM")
            connection_created.connect(limit)
            for conn in connections.all():
                conn.close()  # every thread's next connection gets the limit

        def lift(self) -> None:
            connection_created.disconnect(limit)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA max_page_count = 1073741823")

    full = Full()
    yield full
    connection_created.disconnect(limit)


def test_a_full_sqlite_database_answers_503_and_delivery_resumes_when_space_returns(
    api, smtp_store, smtp_server, full_database, start_worker, web, django_user_model
):
    owner = django_user_model.objects.create_user("owner", "o@shop.test", "a long password 1", is_staff=True)
    staff = Client(raise_request_exception=False)
    staff.force_login(owner)
    queue_orders(api, 60)  # 120 messages: order confirmation and staff mail each
    expected = list(Message.objects.values_list("message_id", flat=True))
    full_database.fill()
    worker = start_worker()
    # the worker meets the full database (composing the messages stores their bytes); it must
    # back off and carry on instead of dying (issue 18: 170 messages stuck until a restart)
    assert wait_until(lambda: "full" in worker.last_error, 60)

    orders = [order(f"G{i}", status="processing") for i in range(200)]
    web.defaults.update(api.headers)
    answer = web.post("/api/v1/sync", {"orders": orders}, content_type="application/json")
    assert answer.status_code == 503
    assert answer["Retry-After"] and answer.json()["reason"] == "database or disk is full"
    upload = SimpleUploadedFile(
        "orders.ndjson", b"\n".join(orjson.dumps({"kind": "order", **o}) for o in orders)
    )
    page = staff.post("/admin/sync/", {"file": upload, "action": "apply"})  # the panel's sync upload
    assert page.status_code == 503 and "text/html" in page["Content-Type"]
    assert "Temporarily unavailable" in page.content.decode() and page["Retry-After"]
    metrics = web.get("/metrics", **api.headers)
    assert metrics.status_code == 200 and b"shopmail_messages" in metrics.content
    assert not smtp_server.messages

    full_database.lift()
    assert wait_until(all_sent, 60), Counter(Message.objects.values_list("status", flat=True))
    counts = tally((m.message_id for m in smtp_server.messages), expected)
    print(f"\nfull SQLite database: {counts}")
    assert counts["lost"] == 0 and counts["repeated"] == 0 and counts["strangers"] == 0
    assert wait_until(lambda: WorkerBeat.objects.filter(sent=120).exists(), 15)  # its next heartbeat
    assert "database or disk is full" in WorkerBeat.objects.get().last_error  # for /healthz, the dashboard
    assert api.post("/sync", {"orders": orders[:5]}).status_code == 200  # the API is back too


# -- SMTP down, then up -------------------------------------------------------------------------


def test_smtp_outage_deferred_mail_goes_out_oldest_first_when_the_server_is_back(
    api, smtp_store, smtp_server, start_worker
):
    smtp_server.stop()
    start_worker()
    queue_orders(api, 30, prefix="D")
    deferred = Message.objects.filter(status=Status.DEFERRED)
    assert wait_until(lambda: deferred.count() == 60, 30)
    first_retry = {m.pk: m.due_at for m in deferred}
    waits = [(due - m.created_at).total_seconds() for m in deferred for due in [first_retry[m.pk]]]
    assert max(waits) < 15  # order and staff mail: the first retry within ~10 s, not 60 s
    smtp_server.start()  # the same port
    queue_orders(api, 1, prefix="N")  # new mail: accepted at once, and brings the rest forward
    assert wait_until(all_sent, 30)
    sent = {m.pk: m.sent_at for m in Message.objects.all()}
    # every deferred message went out before its own retry was due: brought forward, not waited
    early = sum(1 for pk, due in first_retry.items() if sent[pk] < due)
    counts = tally(
        (m.message_id for m in smtp_server.messages), Message.objects.values_list("message_id", flat=True)
    )
    print(f"\nSMTP down then up: {counts}, {early} of {len(first_retry)} brought forward")
    assert counts["lost"] == 0 and counts["repeated"] == 0
    assert early == len(first_retry)
    by_id = {m.message_id: m.pk for m in Message.objects.all()}
    order_of_arrival = [
        by_id[m.message_id] for m in smtp_server.messages if by_id[m.message_id] in first_retry
    ]
    # oldest first; two SMTP connections in parallel may swap neighbours
    rank = {pk: i for i, pk in enumerate(sorted(order_of_arrival))}
    assert all(abs(i - rank[pk]) <= 2 for i, pk in enumerate(order_of_arrival)), order_of_arrival


# -- kill -9 ------------------------------------------------------------------------------------


def _killed_mid_delivery(api, smtp_server, start, total_orders: int) -> dict[str, int]:
    """Start a delivering process, kill -9 it once a third of the mail is out, start another:
    everything is sent, and only what was on the wire may go twice."""
    smtp_server.stall(0.004, stage="dot")  # a few hundred messages take a few seconds
    queue_orders(api, total_orders, prefix="K")
    expected = list(Message.objects.values_list("message_id", flat=True))
    first = start()
    smtp_server.wait_for(len(expected) // 3, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    at_kill = len(smtp_server.messages)
    second = start()  # takes over the dead process's claims at once (same host, pid gone)
    try:
        assert wait_until(all_sent, 60), Counter(Message.objects.values_list("status", flat=True))
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    counts = tally((m.message_id for m in smtp_server.messages), expected)
    counts["at_kill"] = at_kill
    counts["from_journal"] = Attempt.objects.filter(reply__contains="its journal").count()
    return counts


def test_kill_9_of_a_worker_mid_batch_repeats_at_most_what_was_on_the_wire(api, smtp_store, smtp_server):
    def start() -> subprocess.Popen:
        return shopmail_process("worker", "--concurrency", "2", stderr=subprocess.DEVNULL)

    counts = _killed_mid_delivery(api, smtp_server, start, 200)
    print(f"\nkill -9 of a worker: {counts}")
    assert counts["lost"] == 0 and counts["strangers"] == 0
    # on the wire: per connection the message awaiting its reply and the one pipelined behind it
    # (2 x concurrency; twice that for a kill between a reply and its journal write)
    assert counts["repeated"] <= 4 * 2
    dead = WorkerBeat.objects.filter(stopped_at__isnull=False, last_error__contains="taken over")
    assert dead.count() == 1  # the dead worker is shown as such, with what happened


def test_kill_9_of_serve_mid_sync_repeats_at_most_what_was_on_the_wire(api, smtp_store, smtp_server, api_key):
    servers: list[Server] = []

    def start() -> subprocess.Popen:
        servers.append(Server().start())
        proc = servers[-1].proc
        assert proc is not None
        return proc

    syncing = threading.Event()

    def sync_while_killed() -> None:  # a large sync running when serve is killed
        syncing.wait(60)
        orders = [order(f"S{i}", status="pending") for i in range(300)]
        for srv in list(servers):
            with contextlib.suppress(OSError):  # killed under it: the shop sends it again later
                srv.request("POST", "/sync", api_key, {"orders": orders}, timeout=30)

    thread = threading.Thread(target=sync_while_killed, daemon=True)
    thread.start()
    smtp_server.stall(0.004, stage="dot")
    queue_orders(api, 150, prefix="K")
    expected = list(Message.objects.values_list("message_id", flat=True))
    first = start()
    syncing.set()
    smtp_server.wait_for(len(expected) // 3, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    at_kill = len(smtp_server.messages)
    try:
        start()
        assert wait_until(all_sent, 60), Counter(Message.objects.values_list("status", flat=True))
    finally:
        for srv in servers:
            srv.stop()
        thread.join(timeout=60)
    counts = tally(
        (m.message_id for m in smtp_server.messages), Message.objects.values_list("message_id", flat=True)
    )
    counts["at_kill"] = at_kill
    counts["from_journal"] = Attempt.objects.filter(reply__contains="its journal").count()
    print(f"\nkill -9 of serve during a sync: {counts}")
    assert counts["lost"] == 0 and counts["strangers"] == 0
    assert counts["repeated"] <= 4 * 4  # serve's worker: concurrency 4 (see above)


# -- health from heartbeats ---------------------------------------------------------------------


def test_healthz_is_503_with_a_reason_when_mail_is_due_and_no_worker_is_seen(api, store, client):
    queue_orders(api, 1, prefix="H")
    Message.objects.update(due_at=timezone.now() - dt.timedelta(minutes=1))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unhealthy" and "no delivery worker seen within 30 s" in body["reasons"][0]
    assert client.get("/healthz?live=1").status_code == 200
    WorkerBeat.objects.create(worker_id="elsewhere:7:abc", host="elsewhere", pid=7)  # another machine
    assert client.get("/healthz").status_code == 200
    WorkerBeat.objects.update(seen_at=timezone.now() - dt.timedelta(seconds=31))
    assert client.get("/healthz").status_code == 503
    text = client.get("/metrics", **api.headers).content.decode()
    assert "shopmail_workers_seen 0" in text and "shopmail_messages_due 2" in text


def test_a_worker_in_its_own_process_shows_on_healthz_and_the_dashboard(api, smtp_store, smtp_server, client):
    queue_orders(api, 5, prefix="P")
    proc = shopmail_process("worker", "--concurrency", "1", stderr=subprocess.DEVNULL)
    try:
        assert wait_until(all_sent, 30)
        assert wait_until(lambda: WorkerBeat.objects.filter(sent=10).exists(), 15)
        assert client.get("/healthz").json()["workers"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    beat = WorkerBeat.objects.get()
    assert beat.pid == proc.pid and beat.stopped_at is not None  # a clean stop says so


# -- the worker's own error handling, in this process ------------------------------------------


def test_an_error_after_sending_keeps_the_outcomes_and_sends_nothing_twice(api, smtp_store, smtp_server):
    """A database error in the outcome write (here a real one: the table is locked by another
    connection past SQLite's busy timeout) is survived: the outcomes are written after the
    worker reconnects, nothing is sent twice, nothing stays claimed."""
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite write lock")
    import sqlite3

    smtp_server.stall(0.05, stage="dot")  # 20 messages on the wire for ~1 s, one chunk
    queue_orders(api, 10, prefix="E")
    expected = list(Message.objects.values_list("message_id", flat=True))
    blocker = sqlite3.connect(
        connection.settings_dict["NAME"], timeout=30, isolation_level=None, check_same_thread=False
    )
    stop = threading.Event()
    worker = Worker(concurrency=1, stop=stop)
    locked = threading.Event()

    def hold_lock_after_first_send() -> None:
        smtp_server.wait_for(1, timeout=30)
        blocker.execute("BEGIN IMMEDIATE")  # every write of the worker now waits, then fails
        locked.set()
        time.sleep(2.5)
        blocker.execute("COMMIT")

    from django.db import connections as conns

    conns["default"].settings_dict["OPTIONS"]["timeout"] = 1  # SQLite's busy timeout, seconds
    try:
        threading.Thread(target=hold_lock_after_first_send, daemon=True).start()

        def run() -> None:
            asyncio.run(worker.run())

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            assert locked.wait(30)
            assert wait_until(all_sent, 60)
        finally:
            stop.set()
            thread.join(timeout=30)
    finally:
        conns["default"].settings_dict["OPTIONS"]["timeout"] = 60
        blocker.close()
    counts = tally((m.message_id for m in smtp_server.messages), expected)
    print(f"\nlocked database during delivery: {counts}, last error {worker.last_error!r}")
    assert counts["lost"] == 0 and counts["repeated"] == 0
    assert not Message.objects.filter(status=Status.SENDING).exists()
    assert "locked" in worker.last_error


def test_a_dead_workers_claims_are_taken_over_at_once_and_its_journal_read(api, store):
    import socket
    import sys

    from shopmail.mail.journal import journal_path
    from shopmail.mail.takeover import take_over_dead

    host = socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    dead = f"{host}:{gone.pid}:abcdef"
    elsewhere = "otherhost:1:abcdef"  # another machine's worker: left to its lease
    queue_orders(api, 3, prefix="T")
    first, second, third, *rest = Message.objects.order_by("pk").values_list("pk", flat=True)
    until = timezone.now() + dt.timedelta(minutes=5)
    Message.objects.filter(pk__in=[first, second, *rest]).update(
        status=Status.SENDING, claimed_by=dead, claimed_until=until
    )
    Message.objects.filter(pk=third).update(status=Status.SENDING, claimed_by=elsewhere, claimed_until=until)
    journal_path(dead).parent.mkdir(parents=True, exist_ok=True)
    journal_path(dead).write_text(f"{first}\n")  # the server had accepted this one
    WorkerBeat.objects.create(worker_id=dead, host=host, pid=gone.pid)
    WorkerBeat.objects.create(
        worker_id="old:2:abcdef", host="old", pid=2, seen_at=timezone.now() - dt.timedelta(days=8)
    )

    counts = take_over_dead(host, "vm:1:new")

    assert counts == {"workers": 1, "sent": 1, "released": 1 + len(rest)}
    states = dict(Message.objects.values_list("pk", "status"))
    assert (
        states[first] == Status.SENT and states[second] == Status.QUEUED and states[third] == Status.SENDING
    )
    assert Attempt.objects.get(message_id=first).reply.startswith("accepted before worker")
    assert not journal_path(dead).exists()
    assert WorkerBeat.objects.get(worker_id=dead).stopped_at is not None
    assert not WorkerBeat.objects.filter(worker_id="old:2:abcdef").exists()
