"""One mail transaction on a pipelined connection: the commands that open it (MAIL, RCPT, DATA),
the transaction whose content goes next, and ``Cruise``, the usual round trip handled in the
wire's protocol callback without a trip through the coroutine (``SmtpTransport._stream`` takes
over for anything unusual)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shopmail.domain.retry import Outcome, classify
from shopmail.mail.transports.base import Envelope, Rejection, SendResult
from shopmail.mail.transports.smtp_batch import Batch
from shopmail.mail.transports.smtp_wire import Reply, Wire, message_content

OK = (250, 251)  # a recipient accepted


@dataclass(slots=True)
class Opening:
    """The commands that open one envelope's transaction, and the stage each reply belongs to."""

    index: int
    envelope: Envelope
    commands: tuple[bytes, ...]
    stages: tuple[str, ...]

    @property
    def data_too(self) -> bool:
        return self.stages[-1] == "DATA"

    @property
    def plain(self) -> bool:
        """One recipient, so MAIL, RCPT and DATA go together (the usual case)."""
        return len(self.stages) == 3


@dataclass(slots=True)
class Open:
    """A transaction whose DATA was accepted: its content goes next, then the final reply."""

    index: int
    envelope: Envelope
    refused: tuple[Rejection, ...]

    def content(self) -> list[bytes]:
        return message_content(self.envelope.data, self.envelope.wire_ready)

    def finish(self, reply: Reply) -> SendResult:
        text = str(reply)
        if self.refused:
            text = f"{text}; refused: {describe(self.refused)}"
        return SendResult(self.envelope.key, classify(reply.code), reply.code, text, self.refused)


class Cruise:
    """The usual round trip of a pipelined connection, handled in ``Wire``'s protocol callback.

    ``carry``'s content and ``opening``'s MAIL, RCPT and DATA have been written. When their
    four replies are the usual ones (250 for the content; 250, 250/251 and 354), the message
    is done, the opened one becomes ``carry`` and its content goes out with the next opening,
    without a trip through the coroutine. Anything else (another reply, no next envelope, a
    next envelope with several recipients, a full send buffer) stops the cruise with the
    replies unread, and ``SmtpTransport._stream`` goes on from the state left here:
    ``written`` says whether ``opening`` (if any) is on the wire yet.
    """

    __slots__ = ("batch", "carry", "opening", "timeout", "wire", "written")

    def __init__(self, wire: Wire, batch: Batch, carry: Open, opening: Opening, timeout: float) -> None:
        self.wire, self.batch, self.timeout = wire, batch, timeout
        self.carry: Open | None = carry
        self.opening: Opening | None = opening
        self.written = True

    def step(self) -> bool:
        """Handle what has come; False when ``_stream`` must take over."""
        replies = self.wire.replies
        count = len(replies)
        if count and replies[0].code != 250:
            return False
        if count > 1 and replies[1].code != 250:
            return False
        if count > 2 and replies[2].code not in OK:
            return False
        if count > 3 and replies[3].code != 354:
            return False
        if count != 4:
            return count < 4  # wait for the rest (more than four: not ours to read)
        carry, opening = self.carry, self.opening
        assert carry is not None and opening is not None
        done = replies.popleft()
        replies.clear()
        self.wire.took(4)
        self.batch.results[carry.index] = carry.finish(done)
        carry = self.carry = Open(opening.index, opening.envelope, ())
        opening = self.opening = self._next()
        if opening is None or not opening.plain:
            self.written = False
            return False
        self.wire.arm(self.timeout)
        self.wire.write_pieces([*carry.content(), *opening.commands])
        return not self.wire.paused

    def _next(self) -> Opening | None:
        batch = self.batch
        while (index := batch.take()) is not None:
            made = opening_of(self.wire, batch.envelopes[index], index)
            if not isinstance(made, SendResult):
                return made
            batch.results[index] = made
        return None


_BAD_ADDRESS = re.compile(r"[\r\n\0<> ]")


def opening_of(wire: Wire, envelope: Envelope, index: int = -1) -> Opening | SendResult:
    """The MAIL and RCPT commands for an envelope, or the reason it cannot be sent at all."""
    key = envelope.key
    if not envelope.rcpt_to:
        return SendResult(key, Outcome.FAIL, None, "the message has no recipients")
    addresses = (envelope.mail_from, *envelope.rcpt_to)
    utf8 = not all(map(str.isascii, addresses))
    options = ""
    if utf8:
        if "smtputf8" not in wire.extensions:
            reason = "a non-ASCII address needs SMTPUTF8, which the server lacks"
            return SendResult(key, Outcome.FAIL, None, reason)
        options += " SMTPUTF8"
    if "8bitmime" in wire.extensions and not (envelope.wire_ready or envelope.data.isascii()):
        options += " BODY=8BITMIME"
    if "size" in wire.extensions:
        options += f" SIZE={len(envelope.data)}"
    for address in addresses:
        if _BAD_ADDRESS.search(address) or (not address and address is not envelope.mail_from):
            return SendResult(key, Outcome.FAIL, None, f"invalid envelope: bad address {address!r}")
    encoding = "utf-8" if utf8 else "ascii"
    commands = [f"MAIL FROM:<{envelope.mail_from}>{options}\r\n".encode(encoding)]
    commands += [f"RCPT TO:<{address}>\r\n".encode(encoding) for address in envelope.rcpt_to]
    stages = ["MAIL FROM", *["RCPT TO"] * len(envelope.rcpt_to)]
    if len(envelope.rcpt_to) == 1:  # DATA goes with them only when one recipient decides all
        commands.append(b"DATA\r\n")
        stages.append("DATA")
    return Opening(index, envelope, tuple(commands), tuple(stages))


def accepted(replies: Sequence[Reply]) -> bool:
    return any(reply.code in OK for reply in replies)


def describe(refused: Sequence[Rejection]) -> str:
    return "; ".join(f"{r.recipient}: {r.code} {r.reply}" for r in refused)
