"""What a delivery attempt's outcome means, and when to try again.

Pure: no I/O, no SMTP library. Outcomes are classified by what they mean
(DESIGN point 4), not by exception type:

* a 2xx reply means the server took the message: ``SENT``;
* a 4xx reply, a timeout, a dropped or refused connection means "not now":
  ``DEFER``, try again later with back-off;
* a 5xx reply means "never": ``FAIL``, so one poison message does not
  block the queue.

An exception that carries an integer ``.code`` (aiosmtplib's
``SMTPResponseException`` family does) is classified by that code.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Backoff", "Outcome", "RetryPolicy", "Schedule", "classify", "transport_down"]


class Outcome(enum.StrEnum):
    SENT = "sent"
    DEFER = "defer"
    FAIL = "fail"


def classify(code: int | None, *, exception: BaseException | None = None) -> Outcome:
    """Classify a server reply code, or failing that an exception, by meaning.

    ``code`` wins when given. Without a code, an exception's integer
    ``.code`` attribute is used. Timeouts and connection problems
    (``TimeoutError``, any ``OSError`` such as a refused or reset
    connection) defer. A ``ValueError`` (a malformed address or message
    that no retry can fix) fails. Anything else, including no information
    at all, defers: the retry lifetime bounds it.
    """
    if code is None and exception is not None:
        exc_code = getattr(exception, "code", None)
        if isinstance(exc_code, int) and not isinstance(exc_code, bool):
            code = exc_code
    if code is not None:
        if 200 <= code < 300:
            return Outcome.SENT
        if 500 <= code < 600:
            return Outcome.FAIL
        # 4xx, and anything unexpected (1xx, 3xx as a final reply): try again.
        return Outcome.DEFER
    if isinstance(exception, TimeoutError | OSError):
        return Outcome.DEFER
    if isinstance(exception, ValueError):
        return Outcome.FAIL
    return Outcome.DEFER


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, bounded by a lifetime.

    ``next_delay(n)`` is the wait after the n-th failed attempt (1-based):
    ``initial * factor ** (n - 1)``, capped at ``max_delay``, then scaled by
    a random factor in ``[1 - jitter, 1 + jitter]`` so that messages that
    failed together do not all come back together. With ``jitter=0`` the
    schedule is deterministic.
    """

    initial: timedelta = timedelta(seconds=60)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=1)
    lifetime: timedelta = timedelta(days=3)
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial <= timedelta(0):
            raise ValueError("initial must be positive")
        if self.factor < 1.0:
            raise ValueError("factor must be at least 1")
        if self.max_delay < self.initial:
            raise ValueError("max_delay must be at least initial")
        if self.lifetime <= timedelta(0):
            raise ValueError("lifetime must be positive")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")

    def next_delay(self, attempt: int, *, rng: random.Random | None = None) -> timedelta:
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        initial = self.initial.total_seconds()
        cap = self.max_delay.total_seconds()
        # Compare in log space so that a large attempt number cannot overflow.
        steps = attempt - 1
        if self.factor == 1.0 or steps * math.log(self.factor) < math.log(cap / initial):
            seconds = min(initial * self.factor**steps, cap)
        else:
            seconds = cap
        if self.jitter:
            seconds *= (rng or random).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return timedelta(seconds=seconds)

    def gives_up(self, first_attempt_at: datetime, now: datetime) -> bool:
        """True once the message has been trying for ``lifetime`` or longer."""
        if first_attempt_at.tzinfo is None or now.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return now - first_attempt_at >= self.lifetime


@dataclass(frozen=True)
class Schedule:
    """Which back-off a message gets: order and staff mail (a customer waiting for it) retries
    first after ~10 s, doubling from there; bulk mail (newsletters) may wait a minute."""

    urgent: RetryPolicy = RetryPolicy(initial=timedelta(seconds=10))
    bulk: RetryPolicy = RetryPolicy(initial=timedelta(seconds=60))

    def policy(self, *, bulk: bool) -> RetryPolicy:
        return self.bulk if bulk else self.urgent


def transport_down(outcome: Outcome, code: int | None) -> bool:
    """A deferral that says the server (or the way to it) is down, not that this one message
    must wait: no reply at all (refused, dropped, timed out) or 421 "service not available".
    A 4xx for one recipient (greylisting, a full mailbox) is not."""
    return outcome == Outcome.DEFER and (code is None or code == 421)


@dataclass
class Backoff:
    """The worker's own wait after an error of its database: 0.5 s, doubling, capped at
    ``cap`` (30 s), back to the start after a success. Plain state, no clock: the caller sleeps."""

    first: float = 0.5
    cap: float = 30.0
    failures: int = 0

    def next(self) -> float:
        """The wait after one more failure in a row."""
        self.failures += 1
        steps = min(self.failures - 1, 32)
        return min(self.first * 2.0**steps, self.cap)

    def reset(self) -> None:
        self.failures = 0
