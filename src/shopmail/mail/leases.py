"""The outbox's leases: claim due messages for a worker, renew and give back claims.

A claim is one atomic statement (``WITH ... UPDATE ... RETURNING``): ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, SQLite's single writer. A claim is a lease (``claim_timeout``); one left by a dead
or frozen worker is taken over when it expires, or at once by ``mail.takeover`` when its process
is known to be gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from shopmail import config
from shopmail.db import column, db_value, table, with_pks
from shopmail.mail.models import Message, Status


def claim_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=config.delivery().claim_timeout)


def claim(worker_id: str, limit: int, now: dt.datetime | None = None) -> list[int]:
    """Atomically take up to ``limit`` due messages for this worker; returns their ids, ascending.

    Order: priority (order and staff mail before bulk mail), then new mail before retries,
    then due time. Each kind of due message (queued, deferred, a lease left by a dead worker)
    is read in the order of the index (status, priority, due_at) with its own LIMIT, and the
    three are merged, so a claim reads ~``limit`` rows however long the queue is (one ORDER BY
    over every due message sorted the whole queue for each batch).

    One statement (``WITH ... UPDATE ... RETURNING``; PostgreSQL, SQLite 3.35+): the rows are
    chosen, locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and leased in the database's own
    implicit transaction, which ends with the statement. A worker that freezes after sending
    it holds no locks (with a transaction around several statements, a worker stopped between
    them kept its rows locked from every other worker until it resumed).
    """
    now = now or timezone.now()
    if not limit:
        return []

    def col(name: str) -> str:
        return column(Message, name)

    fields = ", ".join(col(name) for name in ("pk", "priority", "attempts", "due_at"))
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    order = f"ORDER BY {col('priority')}, {col('due_at')}, {col('pk')} LIMIT {int(limit)}{lock}"
    kinds = (  # identifiers from the model's metadata, the limit an int, values as parameters
        f"{col('status')} = %s AND {col('due_at')} <= %s",
        f"{col('status')} = %s AND {col('due_at')} <= %s",
        f"{col('status')} = %s AND {col('claimed_until')} < %s",
    )
    due = " UNION ALL ".join(
        f"SELECT * FROM (SELECT {fields} FROM {table(Message)} WHERE {where} {order}) AS k{i}"
        for i, where in enumerate(kinds)
    )
    # new mail (no attempt yet) before retries
    retry = f"CASE WHEN {col('attempts')} = 0 THEN 0 ELSE 1 END"
    sql = (
        f"WITH due AS ({due}) "
        f"UPDATE {table(Message)} SET {col('status')} = %s, {col('claimed_by')} = %s, "
        f"{col('claimed_until')} = %s "
        f"WHERE {col('pk')} IN (SELECT {col('pk')} FROM due "
        f"ORDER BY {col('priority')}, {retry}, {col('due_at')}, {col('pk')} LIMIT {int(limit)}) "
        f"RETURNING {col('pk')}"
    )
    at = db_value(Message, "due_at", now)
    params = [Status.QUEUED, at, Status.DEFERRED, at, Status.SENDING, at]
    params += [Status.SENDING, worker_id, db_value(Message, "claimed_until", now + claim_timeout())]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def held(ids: Sequence[int], worker_id: str) -> QuerySet[Message]:
    """Those of the messages that this worker's claim still holds."""
    return with_pks(Message.objects.all(), ids).filter(claimed_by=worker_id, status=Status.SENDING)


def renew(ids: Sequence[int], worker_id: str) -> set[int]:
    """Extend this worker's lease on the messages it still holds; returns those ids."""
    mine = held(ids, worker_id)
    with transaction.atomic():
        mine.update(claimed_until=timezone.now() + claim_timeout())
        return set(mine.values_list("pk", flat=True))


def release(ids: Sequence[int], reason: str, worker_id: str) -> None:
    """Give claimed messages back untouched (a configuration error is not their fault)."""
    held(ids, worker_id).update(
        status=Status.QUEUED,
        claimed_by="",
        claimed_until=None,
        due_at=timezone.now() + dt.timedelta(seconds=15),
        last_error=reason[:2000],
    )


def release_now(ids: Sequence[int], worker_id: str) -> None:
    """Give claimed, untouched messages back, due at once (a worker stopping)."""
    held(ids, worker_id).update(status=Status.QUEUED, claimed_by="", claimed_until=None)


def release_mine(worker_id: str, keep: Sequence[int] = ()) -> int:
    """Give back every message this worker still holds but has not sent (after an error of
    its database: what it claimed or prepared was never on the wire), due at once."""
    mine = Message.objects.filter(claimed_by=worker_id, status=Status.SENDING)
    if keep:
        mine = mine.exclude(pk__in=list(keep))
    return mine.update(status=Status.QUEUED, claimed_by="", claimed_until=None)


def bring_forward() -> int:
    """The server accepts mail again after an outage: every deferred message is due now, in the
    order it was queued (its due time becomes its creation time, oldest first in the claim)."""
    now = timezone.now()
    return Message.objects.filter(status=Status.DEFERRED, due_at__gt=now).update(due_at=F("created_at"))
