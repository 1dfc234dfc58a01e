"""Memory transport: the capture transport's in-memory twin, for fast worker tests.

``{"kind": "memory", "outbox": "name"}`` keeps every accepted envelope in a list of this process
(``outbox("name")``), with the very bytes the worker handed over: no socket, no file, no thread.
A test can script what the "server" answers for a recipient (``script(recipient, [Outcome.DEFER,
Outcome.SENT])``: the first attempt deferred with a 451, the next accepted), so retry, hold and
give-back paths run in milliseconds; the SMTP paths themselves are tested against the real
aiosmtpd server in tests/mail/test_delivery.py and tests/hostile.

It keeps mail only as long as the process lives, so the settings API does not offer it (SPEC
section 2 lists smtp, sendmail and capture); ``make_transport`` builds it for a test that writes
the store's ``transport`` itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from shopmail.domain.retry import Outcome
from shopmail.mail.transports.base import Envelope, SendResult, expired

__all__ = ["Delivered", "MemoryTransport", "clear", "outbox", "script"]


@dataclass(frozen=True)
class Delivered:
    key: str
    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes


_LOCK = threading.Lock()
_OUTBOXES: dict[str, list[Delivered]] = {}
_SCRIPTS: dict[str, list[Outcome]] = {}  # recipient -> the answers still to give, first first
_ANSWERS = {
    Outcome.SENT: (250, "250 2.0.0 kept in memory"),
    Outcome.DEFER: (451, "451 4.3.0 scripted deferral"),
    Outcome.FAIL: (550, "550 5.1.1 scripted rejection"),
}


def outbox(name: str = "default") -> list[Delivered]:
    """What the transport named ``name`` accepted so far, oldest first (a copy)."""
    with _LOCK:
        return list(_OUTBOXES.get(name, ()))


def script(recipient: str, answers: Sequence[Outcome]) -> None:
    """Answer the next attempts for ``recipient`` with ``answers``, in order; then accept."""
    with _LOCK:
        _SCRIPTS[recipient.lower()] = list(answers)


def clear() -> None:
    with _LOCK:
        _OUTBOXES.clear()
        _SCRIPTS.clear()


class MemoryTransport:
    name = "memory"

    def __init__(self, outbox: str = "default") -> None:
        self.outbox = str(outbox)

    def __repr__(self) -> str:
        return f"<MemoryTransport {self.outbox}>"

    def _answer(self, envelope: Envelope) -> SendResult:
        if not envelope.rcpt_to:
            return SendResult(envelope.key, Outcome.FAIL, None, "invalid envelope: no recipients")
        with _LOCK:
            queue = _SCRIPTS.get(envelope.rcpt_to[0].lower())
            outcome = queue.pop(0) if queue else Outcome.SENT
            if outcome is Outcome.SENT:
                _OUTBOXES.setdefault(self.outbox, []).append(
                    Delivered(envelope.key, envelope.mail_from, tuple(envelope.rcpt_to), bytes(envelope.data))
                )
        code, text = _ANSWERS.get(outcome, (451, "451 4.3.0 scripted"))
        return SendResult(envelope.key, outcome, code, text)

    async def send_many(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[SendResult]:
        results = []
        for envelope in envelopes:
            if expired(deadline):
                break
            results.append(self._answer(envelope))
        return results

    async def close(self) -> None:
        return None
