"""The transport protocol: hand finished messages to something that delivers them.

A transport knows nothing of the outbox. The worker gives it envelopes and
gets one ``SendResult`` per envelope back, in the same order; per-message
problems (a 4xx, a 5xx, a timeout, a dropped line) are results, never
exceptions. ``outcome`` is classified by meaning (``domain.retry``).

Configuration errors are different: wrong credentials (535), a server that
requires authentication we don't have (530), STARTTLS or TLS configured but
not offered or not working, a 5xx to the greeting or EHLO, a missing sendmail
binary. They say nothing about the messages, so no message may be marked
failed or sent because of them, and nothing is ever sent in plain text when
TLS was configured. ``send_many`` raises ``TransportConfigError`` for them;
``exc.results`` has one entry per envelope: the ``SendResult`` of an envelope
that did get a real outcome before the problem surfaced (another pooled
connection may have delivered it), ``None`` for one that was not attempted.
The caller records the non-``None`` results and leaves the others queued
exactly as they were (no attempt counted).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from shopmail.domain.retry import Outcome

__all__ = ["Envelope", "Rejection", "SendResult", "Transport", "TransportConfigError", "expired"]


@dataclass(frozen=True)
class Envelope:
    """One message to deliver.

    ``key`` is the caller's opaque id (for example the outbox row id),
    echoed in the result. ``data`` is the complete RFC 5322 message, CRLF
    line endings (``email.policy.SMTP``), including its fixed Message-ID.
    """

    key: str
    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes
    # True when ``data`` was built by ``domain.mime``: 7-bit, CRLF line ends only, no line
    # starting with "." (its quoted-printable encodes one as "=2E"), so SMTP sends it as it is,
    # without looking for lines to dot-stuff (a third of the CPU for a 110 KB newsletter).
    wire_ready: bool = False


class Rejection(NamedTuple):
    """A recipient the server refused while the message went to others."""

    recipient: str
    code: int
    reply: str


@dataclass(frozen=True)
class SendResult:
    """What happened to one envelope.

    ``code`` is the server's reply code that decided the outcome (None if
    there was none: a timeout, a dropped line, a non-SMTP transport);
    ``reply`` the server's full reply text or a description of the error.
    ``rejected`` lists recipients refused with a 5xx while the message was
    accepted for the others (outcome SENT).
    """

    key: str
    outcome: Outcome
    code: int | None
    reply: str
    rejected: tuple[Rejection, ...] = ()


class TransportConfigError(Exception):
    """The transport is misconfigured; the messages must stay queued.

    ``results`` is aligned with the envelopes given to ``send_many``: a
    ``SendResult`` where the envelope got a real outcome, ``None`` where it
    was not attempted.
    """

    def __init__(self, message: str, results: Sequence[SendResult | None] = ()) -> None:
        super().__init__(message)
        self.results: list[SendResult | None] = list(results)


def expired(deadline: float | None) -> bool:
    """Whether a ``send_many`` deadline has passed."""
    return deadline is not None and time.monotonic() > deadline


@runtime_checkable
class Transport(Protocol):
    name: str

    async def send_many(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[SendResult]:
        """One result per envelope, same order; raises only ``TransportConfigError``.

        With a ``deadline`` (a ``time.monotonic()`` value), an envelope not yet started when it
        has passed is left out of the results: it was not attempted. The worker uses this to
        stop at its lease's half-time, so a process frozen past its lease resends at most the
        messages that were on the wire.
        """
        ...

    async def close(self) -> None: ...
