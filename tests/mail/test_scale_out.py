"""Scale-out: three `shopmail worker` processes on one database deliver 2,000 messages, each once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from factories import order
from fixtures.delivery import shopmail_process
from shopmail.mail.models import Message, Status, WorkerBeat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_three_workers_deliver_2000_messages_exactly_once(api, smtp_store, smtp_server):
    for start in range(0, 1000, 250):
        orders = [order(str(i), status="processing") for i in range(start, start + 250)]
        assert api.post("/sync", {"orders": orders}).status_code == 200
    assert Message.objects.count() == 2000
    workers = [shopmail_process("worker", "--concurrency", "2") for _ in range(3)]
    try:
        smtp_server.wait_for(2000, timeout=240)
        deadline = time.monotonic() + 60
        while Message.objects.filter(status=Status.SENT).count() < 2000 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    time.sleep(0.5)
    ids = Counter(m.message_id for m in smtp_server.messages)
    assert len(ids) == 2000
    assert max(ids.values()) == 1  # nobody got a message twice
    assert set(ids) == set(Message.objects.values_list("message_id", flat=True))
    assert Message.objects.filter(status=Status.SENT).count() == 2000
    # every worker took part: the claims were shared, not serialised on one process
    assert len(set(a for a in Message.objects.values_list("attempt_log__worker", flat=True))) == 3


def _children(pid: int) -> set[int]:
    """The processes that ``pid`` started (listed by the thread that started each)."""
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{task}/children") as f:
            found.update(int(p) for p in f.read().split())
    return found


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie has ended too
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_until(condition, timeout: float = 30.0, describe=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out {describe()}"
        time.sleep(0.1)


def _kill_team(team: subprocess.Popen, children: set[int]) -> None:
    """Never leave a worker on the test database: SIGKILL to whatever of the team is left."""
    for pid in children | ({team.pid} if team.poll() is None else set()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _states(pids: set[int]) -> dict[int, str]:
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
            with open(f"/proc/{pid}/stat") as f:
                found[pid] = f.read().rsplit(")", 1)[1].split()[:2].__str__() + cmd
        except OSError as exc:
            found[pid] = str(exc)
    return found


def test_one_command_runs_three_processes_that_deliver_each_message_once(api, smtp_store, smtp_server):
    team = shopmail_process("worker", "--concurrency", "2", "--processes", "3")
    try:
        _wait_until(lambda: len(_children(team.pid)) == 2)
        children = _children(team.pid)
        # all three set up and looking for mail: each writes its first heartbeat just before its first claim
        _wait_until(lambda: WorkerBeat.objects.filter(stopped_at__isnull=True).count() == 3, 60)
        for start in range(0, 1000, 250):
            orders = [order(str(i), status="processing") for i in range(start, start + 250)]
            assert api.post("/sync", {"orders": orders}).status_code == 200
        assert Message.objects.count() == 2000
        smtp_server.wait_for(2000, timeout=240)
        _wait_until(lambda: Message.objects.filter(status=Status.SENT).count() == 2000, 60)
    finally:
        team.send_signal(signal.SIGTERM)
        assert team.wait(timeout=60) == 0
    ids = Counter(m.message_id for m in smtp_server.messages)
    assert len(ids) == 2000 and max(ids.values()) == 1
    workers = set(Message.objects.values_list("attempt_log__worker", flat=True))
    assert len(workers) == 3, workers  # the claims were shared by all three
    assert {int(w.split(":")[1]) for w in workers} == {team.pid, *children}
    _wait_until(lambda: all(_gone(pid) for pid in children), 10)  # stopped with it


def test_once_with_two_processes_drains_everything_and_exits(api, smtp_store, smtp_server):
    orders = [order(str(i), status="processing") for i in range(200)]
    assert api.post("/sync", {"orders": orders}).status_code == 200
    team = shopmail_process("worker", "--once", "--concurrency", "2", "--processes", "2")
    assert team.wait(timeout=120) == 0
    assert Message.objects.filter(status=Status.SENT).count() == 400
    ids = Counter(m.message_id for m in smtp_server.messages)
    assert len(ids) == 400 and max(ids.values()) == 1


def test_a_dead_worker_process_is_replaced_and_the_team_dies_with_its_parent(api, smtp_store, smtp_server):
    team = shopmail_process("worker", "--processes", "3")
    replaced: set[int] = set()
    try:
        _wait_until(lambda: len(_children(team.pid)) == 2)
        first = _children(team.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        _wait_until(lambda: len(_children(team.pid)) == 2 and victim not in _children(team.pid))
        replaced = _children(team.pid)
        orders = [order(str(i), status="processing") for i in range(20)]
        assert api.post("/sync", {"orders": orders}).status_code == 200
        smtp_server.wait_for(40, timeout=60)  # the team still delivers
        os.kill(team.pid, signal.SIGKILL)  # no chance to stop them: they go anyway
        team.wait(timeout=10)
        # SIGTERM from the kernel, then a graceful stop (at worst the messages in flight)
        _wait_until(lambda: all(_gone(pid) for pid in replaced), 90, lambda: _states(replaced))
    finally:
        _kill_team(team, replaced)


def _wait_for_lines(stream, text: str, count: int, timeout: float = 60.0) -> None:
    """Read ``stream`` until ``text`` has been seen in ``count`` lines."""
    import selectors

    seen, deadline = 0, time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while seen < count:
            assert selector.select(max(0.0, deadline - time.monotonic())), f"no {count} x {text!r} in time"
            line = stream.readline()
            assert line, "the output ended"
            seen += text in line.decode(errors="replace")


def test_a_burst_of_stop_signals_stops_the_team_once_and_cleanly(api, smtp_store, smtp_server):
    # A signal handler that took a lock deadlocked when a second SIGTERM came while the first
    # was in it (a team member gets two when its parent dies); hundreds make that window likely.
    team = shopmail_process("worker", "--concurrency", "2", "--processes", "2", stderr=subprocess.PIPE)
    children: set[int] = set()
    try:
        _wait_for_lines(team.stderr, "started", 2)  # both set up, their handlers in place
        children = _children(team.pid)
        assert len(children) == 1
        for _ in range(300):
            for pid in (team.pid, *children):
                os.kill(pid, signal.SIGTERM)
        assert team.wait(timeout=30) == 0
        _wait_until(lambda: all(_gone(pid) for pid in children), 30, lambda: _states(children))
    finally:
        _kill_team(team, children)
