"""Writing what the server answered: sent, deferred (with its back-off) or failed, and the attempt log.

Outcomes are written after the server's reply, in short transactions; nothing is marked sent that
the server did not accept, and a message another worker took over keeps the status that worker
gives it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shopmail import config
from shopmail.db import column, db_value, fast_update, insert_rows, int_list, table
from shopmail.domain.retry import Outcome, RetryPolicy, Schedule
from shopmail.mail.leases import held
from shopmail.mail.models import Attempt, Message, Priority, Status
from shopmail.mail.transports import SendResult
from shopmail.store import feed

log = logging.getLogger("shopmail.worker")


def retry_schedule(timings: config.Delivery | None = None) -> Schedule:
    """Back-off for order and staff mail (first retry ~10 s) and for newsletters (~60 s)."""
    timings = timings or config.delivery()

    def policy(initial: float) -> RetryPolicy:
        return RetryPolicy(
            initial=dt.timedelta(seconds=initial),
            lifetime=dt.timedelta(seconds=timings.retry_lifetime),
            max_delay=dt.timedelta(seconds=max(initial, timings.retry_max)),
        )

    return Schedule(urgent=policy(timings.retry_initial), bulk=policy(timings.retry_initial_bulk))


def retry_policy() -> RetryPolicy:
    """The back-off of order and staff mail."""
    return retry_schedule().urgent


def record(results: Sequence[SendResult], worker_id: str, schedule: Schedule) -> dict[str, int]:
    """Write each outcome (after the server's reply) and the attempt log.

    A message another worker took over meanwhile keeps the status that worker gives it; only
    the attempt is logged, so a late "deferred" can never undo someone else's "sent".
    The common case, accepted messages, is one UPDATE for all of them.
    """
    now = timezone.now()
    tally = {"sent": 0, "deferred": 0, "failed": 0}
    by_id = {int(r.key): r for r in results}
    attempts: list[tuple[int, Any, str, int | None, str, str]] = []
    at = db_value(Attempt, "at", now)
    with transaction.atomic():
        sent = mark_sent([pk for pk, r in by_id.items() if r.outcome == Outcome.SENT], worker_id, now)
        tally["sent"] = len(sent)
        unsent = list(  # read once, with what the outcome needs
            held([pk for pk, r in by_id.items() if r.outcome != Outcome.SENT], worker_id).select_related(
                "order"
            )
        )
        mine = set(sent) | {message.pk for message in unsent}
        if unsent:
            _record_unsent(unsent, by_id, now, schedule, tally)
        for pk, result in by_id.items():
            reply = result.reply[:4000]
            if pk not in mine:
                reply = f"(late reply; message taken over) {result.reply}"[:4000]
            elif result.rejected:
                reply += "\n" + "\n".join(
                    f"rejected {r.recipient}: {r.code} {r.reply}" for r in result.rejected
                )
            attempts.append((pk, at, str(result.outcome), result.code, reply, worker_id))
        insert_rows(Attempt, ["message", "at", "outcome", "code", "reply", "worker"], attempts)
    by_code: dict[int | None, list[int]] = {}
    for pk in sent:
        by_code.setdefault(by_id[pk].code, []).append(pk)
    for code, pks in by_code.items():  # a line per message, written at once (logs.JsonFormatter)
        log.info("message %s sent", extra={"each": pks, "status": Status.SENT, "code": code})
    return tally


def mark_sent(ids: Sequence[int], worker_id: str, now: dt.datetime) -> list[int]:
    """Mark the accepted messages this worker still holds sent; returns their ids.

    One ``UPDATE ... RETURNING`` (SQLite 3.35+, PostgreSQL): the check that the claim is still
    ours and the write are the same statement.
    """
    if not ids:
        return []

    def col(name: str) -> str:
        return column(Message, name)

    # identifiers from the model's metadata, integer ids written as such, values as parameters
    sql = (
        f"UPDATE {table(Message)} SET {col('status')} = %s, {col('sent_at')} = %s, "
        f"{col('last_error')} = '', {col('claimed_by')} = '', {col('claimed_until')} = NULL, "
        f"{col('attempts')} = {col('attempts')} + 1 "
        f"WHERE {col('pk')} IN ({int_list(ids)}) AND {col('claimed_by')} = %s AND {col('status')} = %s "
        f"RETURNING {col('pk')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.SENT, db_value(Message, "sent_at", now), worker_id, Status.SENDING])
        return sorted(row[0] for row in cursor.fetchall())


def _record_unsent(
    messages: Sequence[Message],
    by_id: dict[int, SendResult],
    now: dt.datetime,
    schedule: Schedule,
    tally: dict[str, int],
) -> None:
    """Deferred and failed messages (still held by this worker), one by one (rare: each has
    its own due time and reply)."""
    for message in messages:
        result = by_id[message.pk]
        policy = schedule.policy(bulk=message.priority >= Priority.BULK)
        message.attempts += 1
        message.claimed_by, message.claimed_until = "", None
        reply = result.reply[:4000]
        if result.outcome == Outcome.DEFER and not policy.gives_up(message.created_at, now):
            message.status = Status.DEFERRED
            message.due_at = now + policy.next_delay(message.attempts)
            message.last_error = reply
            tally["deferred"] += 1
        else:
            message.status, message.last_error = Status.FAILED, reply
            tally["failed"] += 1
            feed.record(
                "message.failed",
                {
                    "message": message.pk,
                    "notification": message.notification,
                    "to": message.to_email,
                    "order": message.order.external_id if message.order else None,
                    "reply": reply[:500],
                    "attempts": message.attempts,
                },
            )
            log.error(
                "message %s failed after %s attempt(s): %s",
                message.pk,
                message.attempts,
                reply[:200],
                extra={"message_id": message.pk},
            )
        log.info(
            "message %s %s",
            message.pk,
            message.status,
            extra={
                "message_id": message.pk,
                "status": message.status,
                "code": result.code,
                "attempt": message.attempts,
            },
        )
    fast_update(
        messages, ["attempts", "claimed_by", "claimed_until", "status", "sent_at", "due_at", "last_error"]
    )
