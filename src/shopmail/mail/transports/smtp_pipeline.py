"""One mail transaction on a pipelined connection: the commands that open it (MAIL, RCPT, DATA)
and the transaction whose content goes next (``SmtpTransport._stream`` reads their replies)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shopmail.domain.retry import Outcome, classify
from shopmail.mail.transports.base import Envelope, Rejection, SendResult
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
