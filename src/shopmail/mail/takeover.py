"""Dead predecessors: a worker of this host whose process is gone has its claims taken over at
once (what its journal says the server accepted is marked sent, the rest is due again), not
after the claim timeout (ADR 0005)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os

from django.db import transaction
from django.utils import timezone

from shopmail.db import db_value, insert_rows
from shopmail.domain.retry import Outcome
from shopmail.mail.journal import journal_dir, journal_path, read_journal
from shopmail.mail.leases import release_mine
from shopmail.mail.models import Attempt, Message, Status, WorkerBeat
from shopmail.mail.outcomes import mark_sent

log = logging.getLogger("shopmail.worker")

BEATS_KEPT = dt.timedelta(days=7)  # a heartbeat row not written for this long is deleted
LIVE: set[str] = set()  # the workers running in this process (never taken over as "dead")


def _parse_worker_id(worker_id: str) -> tuple[str, int] | None:
    """(host, pid) of a worker id ``host:pid:random``."""
    parts = worker_id.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_dead(worker_id: str, host: str) -> bool:
    """A worker of this host whose process is gone: its pid does not exist, or it is this very
    process's pid (a restarted process often gets the same pid in a container) and the worker
    is not one of this process's own."""
    parsed = _parse_worker_id(worker_id)
    if parsed is None or parsed[0] != host or worker_id in LIVE:
        return False
    return parsed[1] == os.getpid() or not _pid_alive(parsed[1])


def take_over_dead(host: str, by: str) -> dict[str, int]:
    """Take over the claims of this host's dead workers at once (not after the claim timeout):
    what their journal says the server accepted is marked sent, the rest is due again now.
    Returns counts: ``workers``, ``sent`` (from journals), ``released``."""
    counts = {"workers": 0, "sent": 0, "released": 0}
    holders = set(
        Message.objects.filter(status=Status.SENDING)
        .exclude(claimed_by="")
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    holders |= set(
        WorkerBeat.objects.filter(host=host, stopped_at__isnull=True).values_list("worker_id", flat=True)
    )
    if journal_dir().is_dir():
        prefix = journal_path(f"{host}:0:x").name.rsplit("_", 2)[0] + "_"
        for path in journal_dir().glob(prefix + "*.sent"):
            pid, _, rest = path.name[len(prefix) :].partition("_")
            holders.add(f"{host}:{pid}:{rest.removesuffix('.sent')}")
    now = timezone.now()
    for holder in sorted(holders):
        if not is_dead(holder, host):
            continue
        counts["workers"] += 1
        accepted = read_journal(holder)
        with transaction.atomic():
            sent: list[int] = []
            if accepted:
                sent = mark_sent(accepted, holder, now)
                insert_rows(
                    Attempt,
                    ["message", "at", "outcome", "code", "reply", "worker"],
                    [
                        (pk, db_value(Attempt, "at", now), str(Outcome.SENT), None,
                         f"accepted before worker {holder} died (its journal); not sent again", by)
                        for pk in sent
                    ],
                )  # fmt: skip
            released = release_mine(holder)
            WorkerBeat.objects.filter(worker_id=holder, stopped_at__isnull=True).update(
                stopped_at=now,
                last_error=f"process ended without stopping; taken over by {by}",
                last_error_at=now,
            )
        counts["sent"] += len(sent)
        counts["released"] += released
        with contextlib.suppress(OSError):
            journal_path(holder).unlink(missing_ok=True)
        log.warning(
            "worker %s died: %s accepted message(s) marked sent from its journal, %s claimed given back",
            holder,
            len(sent),
            released,
            extra={"worker": holder},
        )
    WorkerBeat.objects.filter(seen_at__lt=now - BEATS_KEPT).delete()  # long gone: off the dashboard
    return counts
