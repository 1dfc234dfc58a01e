"""The work of one ``SmtpTransport.send_many`` call: the envelopes still to take, their results (each
accepted one told to ``ON_ACCEPTED`` at once), and what stopped it (a configuration error, a server
that cannot be reached, the deadline)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from shopmail.domain.retry import Outcome
from shopmail.mail.transports.base import Envelope, SendResult, TransportConfigError, expired

# Set by the caller (the worker's journal, ADR 0005): called with the key of each envelope the
# server accepted the moment its reply is read, before send_many returns the whole chunk. A
# process killed mid-chunk has then noted every accepted message but those still on the wire.
ON_ACCEPTED: ContextVar[Callable[[str], None] | None] = ContextVar("shopmail_on_accepted", default=None)


class Results(list[SendResult | None]):
    """The batch's results; tells ``ON_ACCEPTED`` of each accepted message as it is stored."""

    def __init__(self, size: int, hook: Callable[[str], None] | None) -> None:
        super().__init__([None] * size)
        self.hook = hook

    def __setitem__(self, index, value):  # type: ignore[no-untyped-def]
        super().__setitem__(index, value)
        if self.hook is not None and isinstance(value, SendResult) and value.outcome == Outcome.SENT:
            self.hook(value.key)


class Unreachable(Exception):
    """The server could not be reached or set up right now (a transient problem)."""

    def __init__(self, code: int | None, reply: str) -> None:
        super().__init__(reply)
        self.code = code
        self.reply = reply


@dataclass
class Batch:
    envelopes: Sequence[Envelope]
    deadline: float | None = None
    expired: bool = False  # the deadline passed: what was not taken is left out, not attempted
    pending: deque[int] = field(init=False)
    results: list[SendResult | None] = field(init=False)
    config_error: str | None = None
    unreachable: Unreachable | None = None
    requeued: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.pending = deque(range(len(self.envelopes)))
        self.results = Results(len(self.envelopes), ON_ACCEPTED.get())

    def give_back(self, index: int) -> bool:
        """Put an envelope whose content was never sent back in front, once; False if done before."""
        if index in self.requeued:
            return False
        self.requeued.add(index)
        self.pending.appendleft(index)
        return True

    def more(self) -> bool:
        """Whether there is an envelope to take now."""
        if not self.pending or self.config_error is not None:
            return False
        if expired(self.deadline):
            self.expired = True
            return False
        return True

    def take(self) -> int | None:
        """The next envelope to send, if any (none once a configuration error is known)."""
        return self.pending.popleft() if self.more() else None

    def finish(self) -> list[SendResult]:
        if self.config_error is not None:
            raise TransportConfigError(self.config_error, self.results)
        problem = self.unreachable or Unreachable(None, "not attempted")
        done: list[SendResult] = []
        for index, (envelope, result) in enumerate(zip(self.envelopes, self.results, strict=True)):
            if result is None and self.expired and index in self.pending:
                continue  # left for after the deadline
            done.append(result or SendResult(envelope.key, Outcome.DEFER, problem.code, problem.reply))
        return done
