"""One SMTP connection's mail transactions, pipelined (RFC 2920) when the server offers it.

aiosmtplib opens the connection (TCP or TLS, greeting, EHLO, STARTTLS, AUTH: the parts where a
careful, well-tested library matters most); ``Wire`` then takes over its transport and speaks
the small rest of the protocol itself: MAIL, RCPT, DATA, the message, RSET, NOOP, QUIT.

Why: aiosmtplib waits for each reply before the next command and runs two regular expressions
over every message body. With PIPELINING the commands of a transaction travel together, and
the end of one message travels with the commands of the next::

    C: MAIL FROM:<shop@x> / RCPT TO:<ann@y> / DATA                 (one write)
    S: 250 / 250 / 354
    C: <message 1> . / MAIL FROM:<shop@x> / RCPT TO:<bob@z> / DATA  (one write)
    S: 250 queued / 250 / 250 / 354
    ...

so a message costs one round trip instead of four (five with a NOOP). The client never sends
message content before the server's 354, so a refused DATA can never make the server read a
message as commands. Without PIPELINING the same steps go one command per round trip.

``Wire`` parses every reply the server sends, in order, into a queue (aiosmtplib's protocol
keeps only one pending reply and would drop the others).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Disconnected", "Reply", "Wire", "message_content"]

MAX_REPLY_LINE = 8192
_COPY_LIMIT = 16384  # pieces at least this large are written as they are, not joined
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")


class Disconnected(ConnectionError):
    """The connection was lost, or the server spoke something that is not SMTP."""


class Reply(NamedTuple):
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


def message_content(data: bytes, wire_ready: bool = False) -> list[bytes]:
    """The message as it goes after DATA, in pieces: CRLF line ends, leading dots doubled, the dot.

    ``wire_ready``: built by ``domain.mime`` (CRLF only, no line starting with a dot), so sent
    as it is, without a copy. Otherwise three ``count`` calls find the common case that needs
    no change (aiosmtplib runs two regular expressions over every byte).
    """
    if wire_ready and data.endswith(b"\r\n"):
        return [data, b".\r\n"]
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        data = _LINE_ENDINGS.sub(b"\r\n", data)
    if data.startswith(b"."):
        data = b"." + data
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    return [data, b".\r\n"]


class Wire(asyncio.Protocol):
    """Takes over an established SMTP connection; see the module docstring."""

    def __init__(self, transport: asyncio.BaseTransport, extensions: dict[str, str]) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.extensions = extensions
        self.pipelining = "pipelining" in extensions
        self.last_used = time.monotonic()
        self.answered = 0  # replies read so far
        self._buffer = bytearray()
        self._lines: list[bytes] = []
        self._replies: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._step: Callable[[], bool] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._lost: str | None = None
        self._timed_out = False
        self._deadline = math.inf
        self._watchdog: asyncio.TimerHandle | None = None
        transport.set_protocol(self)

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        if buffer:  # the start of a line came before
            buffer += data
            data = bytes(buffer)
            buffer.clear()
        end = data.rfind(b"\n")
        if end + 1 < len(data):  # keep the part of a line that is still coming
            if len(data) - end - 1 > MAX_REPLY_LINE:
                self._broken("the server sent a reply line that is too long")
                return
            buffer += data[end + 1 :]
            if end < 0:
                return
            data = data[: end + 1]
        lines, replies = self._lines, self._replies
        for line in data[:-1].split(b"\n"):
            code = line[:3]
            if not code.isdigit() or len(line) > MAX_REPLY_LINE:
                self._broken(f"the server sent something that is not an SMTP reply: {line[:80]!r}")
                return
            text = line[4:].strip(b" \t\r")
            if line[3:4] == b"-":  # more lines of this reply follow
                lines.append(text)
                continue
            if lines:
                lines.append(text)
                text = b"\n".join(lines)
                lines.clear()
            replies.append(Reply(int(code), text.decode("utf-8", "replace")))
        if replies:
            step = self._step
            if step is not None and step():
                return  # handled here, in the callback: nobody to wake
            self._wake()

    def eof_received(self) -> bool:
        return False  # the transport closes; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost is None:
            self._lost = "the server closed the connection" + (f" ({exc})" if exc else "")
        self._wake()
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    # -- talking -------------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._lost is None and not self.transport.is_closing()

    @property
    def paused(self) -> bool:
        """Whether the send buffer is full (:meth:`drain` would wait)."""
        return self._writable is not None

    def write(self, data: bytes) -> None:
        if not self.is_connected:
            raise Disconnected(self._lost or "the connection is closed")
        self.transport.write(data)

    def write_pieces(self, pieces: list[bytes]) -> None:
        """Write in order: large pieces (a message) on their own, without copying them into one."""
        small: list[bytes] = []
        for piece in pieces:
            if len(piece) < _COPY_LIMIT:
                small.append(piece)
                continue
            if small:
                self.write(b"".join(small))
                small = []
            self.write(piece)
        if small:
            self.write(b"".join(small))

    def arm(self, timeout: float) -> None:
        """Give up on this connection if a read or drain is still waiting ``timeout`` seconds
        from now: it is closed and the waiting call raises ``TimeoutError``.

        Called before every round trip, so it only moves a deadline; one timer per connection
        follows it lazily (an ``asyncio.timeout`` per round trip cost a tenth of the sending).
        """
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + timeout
        if self._watchdog is None:
            self._watchdog = loop.call_at(self._deadline, self._check_deadline)

    def disarm(self) -> None:
        self._deadline = math.inf
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    async def drain(self) -> None:
        """Wait while the socket's send buffer is full (a large message, a slow server)."""
        writable = self._writable
        if writable is not None:
            await writable
            if self._lost is not None:
                raise self._failure()

    async def read(self) -> Reply:
        """The next reply, in the order the commands were sent."""
        while not self._replies:
            if self._lost is not None:
                raise self._failure()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self.last_used = time.monotonic()
        self.answered += 1
        return self._replies.popleft()

    @property
    def replies(self) -> deque[Reply]:
        """The replies that have come and were not read yet, oldest first."""
        return self._replies

    def took(self, count: int) -> None:
        """``count`` replies were taken from :attr:`replies` by a ``cruise`` step."""
        self.last_used = time.monotonic()
        self.answered += count

    async def cruise(self, step: Callable[[], bool]) -> None:
        """Let ``step`` handle the replies in the protocol callback as they come, until it
        returns False (it cannot go on by itself), the connection is lost or the deadline passes.

        ``step`` takes what it handles from :attr:`replies` (and reports it with :meth:`took`);
        the rest stays there for :meth:`read`. Handling the usual replies right where they
        arrive saves a future, a task step and a loop iteration per round trip.
        """
        if self._lost is None and not step():
            return
        if self._lost is not None:
            return
        self._step = step
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
            self._step = None

    async def ask(self, *commands: bytes) -> list[Reply]:
        """Send the commands (one write) and read one reply for each."""
        self.write(b"".join(commands))
        await self.drain()
        return [await self.read() for _ in commands]

    def close(self) -> None:
        """Close now (abort: no graceful TLS shutdown that could outlive the event loop)."""
        if self._lost is None:
            self._lost = "closed by the client"
        self.disarm()
        if not self.transport.is_closing():
            self.transport.abort()

    # -- internals -----------------------------------------------------------------------------

    def _wake(self) -> None:
        self._step = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _check_deadline(self) -> None:
        self._watchdog = None
        if self._deadline == math.inf:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._deadline:  # moved on since the timer was set: follow it
            self._watchdog = loop.call_at(self._deadline, self._check_deadline)
            return
        self._timed_out = True
        self._lost = "no reply in time"
        self.close()
        self._wake()
        self.resume_writing()

    def _failure(self) -> Exception:
        if self._timed_out:
            return TimeoutError("no reply in time")
        return Disconnected(self._lost or "the connection is closed")

    def _broken(self, why: str) -> None:
        self._lost = why
        self._buffer.clear()
        self.transport.abort()
        self._wake()
