"""SMTP over a small pool of reused connections, pipelined where the server allows.

This module holds the pool and the conversation; ``smtp_batch`` is the work of one call and
``smtp_pipeline`` the state of one mail transaction.

``send_many`` spreads the envelopes over up to ``pool_size`` connections that
send in parallel. aiosmtplib opens each connection (TLS, EHLO, STARTTLS,
AUTH); ``smtp_wire.Wire`` then carries the mail transactions, with PIPELINING
(RFC 2920) when the server offers it: one round trip per message. Connections
are opened lazily, kept open between calls (checked with NOOP before reuse
unless they answered within the last two seconds), and reopened after a
disconnect.

Per message (``domain.retry.classify`` gives the meaning of each code):

* MAIL FROM refused: 4xx DEFER, 5xx FAIL, with the server's reply.
* RCPT TO, each recipient on its own: if every refusal is a 5xx and at
  least one recipient was accepted, the data is sent and the outcome is
  SENT, with the refused recipients in ``rejected`` and in ``reply``. If
  *any* recipient got a 4xx, the transaction is abandoned (RSET) and the
  whole message DEFERs, so the retry reaches everybody exactly once and
  nobody gets a copy twice. If all were refused with 5xx: FAIL.
* DATA: the reply after the final dot decides. A timeout or disconnect
  there DEFERs with a reply saying delivery is ambiguous: the server may
  have the message, and the retry carries the same Message-ID.
* A timeout or dropped connection anywhere else: DEFER. A server that
  cannot be reached: every message not yet sent DEFERs.

A transport belongs to the event loop it is used in; call ``close()`` (QUIT
on the idle connections) before that loop ends. Used from a new loop, it
forgets the old loop's connections and opens new ones.

Configuration errors raise ``TransportConfigError`` (see ``base``): 530,
534, 535 and 538 replies (authentication or encryption required or
refused), a 5xx to the greeting, EHLO, STARTTLS or AUTH, STARTTLS
configured but not offered, a failed TLS handshake or certificate check.
With ``security="starttls"`` or ``"tls"`` nothing is sent before TLS is up;
there is no fallback to plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Sequence
from typing import Literal, get_args

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPHeloError,
    SMTPResponseException,
    SMTPServerDisconnected,
)

from shopmail.domain.retry import Outcome, classify
from shopmail.mail.transports.base import Envelope, Rejection, SendResult, TransportConfigError
from shopmail.mail.transports.smtp_batch import Batch, Unreachable
from shopmail.mail.transports.smtp_pipeline import OK, Cruise, Open, Opening, accepted, describe, opening_of
from shopmail.mail.transports.smtp_wire import Reply, Wire

__all__ = ["CONFIG_ERROR_CODES", "Security", "SmtpTransport"]

Security = Literal["none", "starttls", "tls"]
# Authentication required (530), mechanism too weak (534), credentials
# invalid (535), encryption required (538): RFC 4954.
CONFIG_ERROR_CODES = frozenset({530, 534, 535, 538})
# A pooled connection that answered this recently is used without a NOOP first.
_FRESH = 2.0


class SmtpTransport:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        pool_size: int = 4,
        local_hostname: str | None = None,
        *,
        cafile: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in get_args(Security):
            raise ValueError(f"security must be one of {get_args(Security)}, not {security!r}")
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if password is not None and username is None:
            raise ValueError("a password needs a username")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.pool_size = pool_size
        self.local_hostname = local_hostname
        self._tls_context = tls_context
        if tls_context is None and security != "none":
            self._tls_context = ssl.create_default_context(cafile=cafile)
        self._idle: list[Wire] = []
        self._slots = asyncio.Semaphore(pool_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._hello_name = local_hostname  # looked up once (socket.getfqdn) if not given

    def __repr__(self) -> str:
        user = f" as {self.username}" if self.username else ""
        return f"<SmtpTransport {self.host}:{self.port} {self.security}{user}>"

    async def send_many(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[SendResult]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections and the semaphore belong to one event loop
            self._loop, self._idle, self._slots = loop, [], asyncio.Semaphore(self.pool_size)
        self._closed = False
        batch = Batch(envelopes, deadline)
        workers = min(self.pool_size, len(envelopes))
        await asyncio.gather(*(self._work(batch) for _ in range(workers)))
        return batch.finish()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        if self._loop is not asyncio.get_running_loop():
            return  # they belong to an event loop that has ended: nobody left to say QUIT
        await asyncio.gather(*(self._quit(smtp) for smtp in idle))
        await asyncio.sleep(0)  # let the aborted sockets close before the caller's loop may end

    # -- the pool ------------------------------------------------------------------------------

    async def _work(self, batch: Batch) -> None:
        async with self._slots:
            wire = await self._reuse()
            reused = wire is not None
            try:
                while batch.more():
                    if wire is None or not wire.is_connected:
                        wire, reused = await self._connect(), False
                        if not batch.more():
                            break
                    await self._stream(wire, batch, reused)
            except TransportConfigError as exc:
                batch.config_error = str(exc)
                if wire is not None:
                    wire.close()
            except Unreachable as exc:
                batch.unreachable = exc
            finally:
                if wire is not None:
                    wire.disarm()  # idle in the pool: no reply is awaited
                if wire is not None and wire.is_connected and not self._closed:
                    self._idle.append(wire)
                elif wire is not None:
                    wire.close()

    async def _reuse(self) -> Wire | None:
        while self._idle:
            wire = self._idle.pop()
            if not wire.is_connected:
                continue
            if time.monotonic() - wire.last_used < _FRESH:
                return wire  # answered a moment ago: no NOOP round trip
            try:
                async with asyncio.timeout(min(self.timeout, 10.0)):
                    [reply] = await wire.ask(b"NOOP\r\n")
                if reply.code == 250:
                    return wire
            except (OSError, TimeoutError):
                pass
            wire.close()  # whatever went wrong, a fresh connection is the cure
        return None

    async def _quit(self, wire: Wire) -> None:
        try:
            async with asyncio.timeout(min(self.timeout, 5.0)):
                await wire.ask(b"QUIT\r\n")
        except (OSError, TimeoutError):
            pass
        finally:
            wire.close()

    # -- opening a connection ------------------------------------------------------------------

    async def _connect(self) -> Wire:
        where = f"{self.host}:{self.port}"
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            start_tls=False,
            local_hostname=self._hello_name,
            tls_context=self._tls_context,
        )
        try:
            await smtp.connect()
            self._hello_name = smtp.local_hostname
            await self._hello(smtp)
            if self.security == "starttls":
                if not smtp.supports_extension("starttls"):
                    raise TransportConfigError(
                        f"{where}: STARTTLS is configured but the server does not offer it; "
                        "nothing was sent in plain text"
                    )
                await smtp.starttls()
                await self._hello(smtp)
            if self.username is not None:
                if not smtp.supports_extension("auth"):
                    raise TransportConfigError(
                        f"{where}: credentials are configured but the server offers no AUTH"
                    )
                await smtp.login(self.username, self.password or "")
            transport = smtp.transport
            if transport is None or transport.is_closing():
                raise SMTPServerDisconnected("the server closed the connection while setting up")
        except TransportConfigError:
            _drop(smtp)
            raise
        except Exception as exc:
            _drop(smtp)
            raise _connect_problem(where, exc) from exc
        return Wire(transport, dict(smtp.esmtp_extensions))

    @staticmethod
    async def _hello(smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.ehlo()
        except SMTPHeloError as exc:
            if not (500 <= exc.code < 600 and smtp.is_connected):
                raise
            await smtp.helo()

    # -- the transactions ----------------------------------------------------------------------

    async def _stream(self, wire: Wire, batch: Batch, reused: bool) -> None:
        """Send pending envelopes over one connection until none are left or it breaks.

        Each round trip carries the content of the message whose DATA was accepted last time
        (``carry``) and the commands that open the next one; see ``smtp_wire``.

        When the connection breaks before the next message's first reply, because the reply
        to the previous message's content never came or because a pooled connection had
        silently died, that next message is given back to the batch (once) to go over a new
        connection: its content was never sent.
        """
        answered_before = wire.answered
        carry: Open | None = None
        opening: Opening | None = None
        rset = False  # the last transaction was abandoned after MAIL: reset before the next
        while True:
            while opening is None and (index := batch.take()) is not None:
                made = opening_of(wire, batch.envelopes[index], index)
                if isinstance(made, SendResult):
                    batch.results[index] = made
                else:
                    opening = made
            if carry is None and opening is None:
                if rset and wire.is_connected:
                    wire.arm(self.timeout)
                    await self._guarded(self._reset(wire))
                return
            stage = "MAIL FROM"
            try:
                wire.arm(self.timeout)  # the reply (or room to write) must come in time
                if wire.pipelining:
                    out = [b"RSET\r\n"] if rset else []
                    if carry is not None:
                        out += carry.content()
                    if opening is not None:
                        out += opening.commands
                    wire.write_pieces(out)
                    if carry is not None and opening is not None and opening.plain and not rset:
                        # the usual replies are handled as they come, and the next message goes
                        # out at once; back here at anything else, with the replies unread
                        cruise = Cruise(wire, batch, carry, opening, self.timeout)
                        await wire.cruise(cruise.step)
                        carry, opening = cruise.carry, cruise.opening
                        if not cruise.written:
                            continue  # the next opening (if any) is not sent yet
                    await wire.drain()
                    if rset:
                        await wire.read()
                else:
                    if rset:
                        await self._reset(wire)
                    if carry is not None:
                        wire.write_pieces(carry.content())
                        await wire.drain()
                rset = False
                if carry is not None:
                    reply = await wire.read()
                    batch.results[carry.index] = carry.finish(reply)
                    carry = None
                    if reply.code == 421:  # the server is closing: the next one goes elsewhere
                        wire.close()
                        if opening is not None and not batch.give_back(opening.index):
                            batch.results[opening.index] = SendResult(
                                opening.envelope.key, Outcome.DEFER, 421, str(reply)
                            )
                        return
                if opening is None:
                    continue
                replies: list[Reply] = []
                while len(replies) < len(opening.stages):
                    step = len(replies)
                    stage = opening.stages[step]
                    if wire.pipelining:
                        replies.append(await wire.read())
                        if replies[-1].code == 421:
                            break  # the server is closing: no more replies will come
                        continue
                    if stage == "DATA" and not accepted(replies[1:]):
                        break  # the recipient was refused: no DATA
                    [reply] = await wire.ask(opening.commands[step])
                    replies.append(reply)
                    if stage == "MAIL FROM" and reply.code != 250:
                        break  # MAIL refused: nothing more to say
                carry, rset, stage = await self._conclude(wire, batch, opening, replies)
                opening = None
                if not wire.is_connected:
                    return
            except (OSError, TimeoutError) as exc:
                wire.close()
                text = "no reply in time" if isinstance(exc, TimeoutError) else _error_text(exc)
                if carry is not None:
                    batch.results[carry.index] = SendResult(
                        carry.envelope.key,
                        Outcome.DEFER,
                        None,
                        f"DATA: {text}; delivery is ambiguous: the server may have the message "
                        "(retry keeps its Message-ID)",
                    )
                stale = reused and wire.answered == answered_before
                if opening is not None and batch.results[opening.index] is None:
                    if (carry is not None or stale) and batch.give_back(opening.index):
                        return
                    batch.results[opening.index] = SendResult(
                        opening.envelope.key, Outcome.DEFER, None, f"{stage}: {text}"
                    )
                return

    async def _conclude(
        self, wire: Wire, batch: Batch, opening: Opening, replies: list[Reply]
    ) -> tuple[Open | None, bool, str]:
        """Decide from the MAIL/RCPT/DATA replies; returns (DATA accepted, RSET needed, stage)."""
        envelope, key = opening.envelope, opening.envelope.key
        if (  # the usual case: one recipient, MAIL, RCPT and DATA all accepted
            len(replies) == 3
            and opening.data_too
            and replies[0].code == 250
            and replies[1].code in OK
            and replies[2].code == 354
        ):
            return Open(opening.index, envelope, ()), False, "DATA"
        count = len(envelope.rcpt_to)
        mail, rcpts = replies[0], replies[1 : 1 + count]
        data = replies[1 + count] if len(replies) > 1 + count else None
        closing = next((reply for reply in replies if reply.code == 421), None)
        if closing is not None:  # the server is closing the connection: try again later
            wire.close()
            batch.results[opening.index] = SendResult(key, Outcome.DEFER, 421, str(closing))
            return None, False, "MAIL FROM"
        if data is not None and data.code == 354 and (mail.code != 250 or not accepted(rcpts)):
            # A server that says 354 with no recipient: end the empty transaction at once.
            await wire.ask(b".\r\n")
            data = Reply(554, "no valid recipients")
        if mail.code != 250:
            self._check_config(mail, "MAIL FROM")
            batch.results[opening.index] = SendResult(key, classify(mail.code), mail.code, str(mail))
            return None, False, "MAIL FROM"
        refused: list[Rejection] = []
        for recipient, reply in zip(envelope.rcpt_to, rcpts, strict=True):
            if reply.code not in (250, 251):
                self._check_config(reply, "RCPT TO")
                refused.append(Rejection(recipient, reply.code, reply.text))
        temporary = [r for r in refused if classify(r.code) is not Outcome.FAIL]
        if temporary or len(refused) == count:
            # Any 4xx recipient abandons the whole message, so the retry reaches everybody once.
            first = (temporary or refused)[0]
            outcome = Outcome.DEFER if temporary else Outcome.FAIL
            batch.results[opening.index] = SendResult(key, outcome, first.code, describe(refused))
            return None, wire.is_connected, "RCPT TO"
        if data is None:  # several recipients: DATA only now that all of them answered
            [data] = await wire.ask(b"DATA\r\n")
        if data.code != 354:
            self._check_config(data, "DATA")
            batch.results[opening.index] = SendResult(key, classify(data.code), data.code, str(data))
            return None, wire.is_connected, "DATA"
        return Open(opening.index, envelope, tuple(refused)), False, "DATA"

    @staticmethod
    async def _guarded(action: Awaitable[None]) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            await action

    def _check_config(self, reply: Reply, stage: str) -> None:
        if reply.code in CONFIG_ERROR_CODES:
            raise TransportConfigError(f"{self.host}:{self.port}: {stage}: {reply}")

    @staticmethod
    async def _reset(wire: Wire) -> None:
        if wire.is_connected:
            [reply] = await wire.ask(b"RSET\r\n")
            if reply.code != 250:
                wire.close()


def _drop(smtp: aiosmtplib.SMTP) -> None:
    """Close now: abort rather than a graceful TLS shutdown that could outlive the event loop."""
    transport = smtp.transport
    if isinstance(transport, asyncio.Transport) and not transport.is_closing():
        transport.abort()
    smtp.close()


def _error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text} ({cause})"
    return text


def _ssl_error_in(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _connect_problem(where: str, exc: Exception) -> TransportConfigError | Unreachable:
    """Sort a failure while connecting, greeting, STARTTLS or AUTH into config error or transient."""
    tls_error = _ssl_error_in(exc)
    if tls_error is not None:
        return TransportConfigError(f"{where}: TLS failed: {tls_error}")
    if isinstance(exc, SMTPAuthenticationError):
        return TransportConfigError(f"{where}: authentication failed: {exc.code} {exc.message}")
    if isinstance(exc, SMTPResponseException):
        reply = f"{exc.code} {exc.message}"
        if exc.code in CONFIG_ERROR_CODES or classify(exc.code) is Outcome.FAIL:
            return TransportConfigError(f"{where}: the server refused the session: {reply}")
        return Unreachable(exc.code, f"{where}: {reply}")
    if isinstance(exc, OSError | TimeoutError | SMTPServerDisconnected):
        # aiosmtplib's connect, timeout and disconnect errors are OSError/TimeoutError subclasses.
        return Unreachable(None, f"{where}: {_error_text(exc)}")
    if isinstance(exc, SMTPException):
        # e.g. "No suitable authentication method found".
        return TransportConfigError(f"{where}: {_error_text(exc)}")
    return Unreachable(None, f"{where}: unexpected error: {exc!r}")
