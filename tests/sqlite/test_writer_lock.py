"""The SQLite backend's in-process writer queue (shopmail/sqlite/base.py, ADR 0008)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from shopmail.sqlite import base
from shopmail.store.models import Customer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the writer queue is the SQLite backend's"),
]


def _write(email: str) -> None:
    Customer.objects.create(external_id=email, email=email)


def test_a_second_writer_waits_in_the_process_and_goes_the_moment_the_first_commits():
    order: list[str] = []
    first_in, second_waiting = threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            _write("a@example.com")
            order.append("first wrote")
            first_in.set()
            second_waiting.wait(5)
            assert base._WRITER.locked()
            order.append("first commits")
        connections.close_all()

    def second() -> None:
        first_in.wait(5)
        # SQLite's own busy handler would give up at once: only the process's queue can wait
        connection.ensure_connection()
        connection.connection.execute("PRAGMA busy_timeout = 0")
        second_waiting.set()
        with transaction.atomic():
            order.append("second in")
            _write("b@example.com")
        connections.close_all()

    errors: list[BaseException] = []

    def run(target) -> None:
        try:
            target()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(first,)), threading.Thread(target=run, args=(second,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert order == ["first wrote", "first commits", "second in"]
    assert not base._WRITER.locked()
    assert Customer.objects.filter(email__in=["a@example.com", "b@example.com"]).count() == 2


def test_rollback_lets_the_next_writer_go():
    with pytest.raises(RuntimeError), transaction.atomic():
        _write("c@example.com")
        assert base._WRITER.locked()
        raise RuntimeError("roll back")
    assert not base._WRITER.locked()
    assert not Customer.objects.filter(email="c@example.com").exists()


def test_a_connection_closed_inside_a_transaction_releases_the_lock():
    done = threading.Event()

    def abandon() -> None:
        transaction.atomic().__enter__()  # never left: the connection is closed inside it
        _write("d@example.com")
        assert base._WRITER.locked()
        connections["default"].close()
        done.set()

    thread = threading.Thread(target=abandon)
    thread.start()
    thread.join(10)
    assert done.is_set() and not base._WRITER.locked()
    with transaction.atomic():  # and this thread writes at once
        _write("e@example.com")
    assert not Customer.objects.filter(email="d@example.com").exists()
