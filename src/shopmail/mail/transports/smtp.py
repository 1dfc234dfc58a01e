"""SMTP over a small pool of reused aiosmtplib connections.

``send_many`` spreads the envelopes over up to ``pool_size`` connections
that send in parallel, one transaction at a time each (aiosmtplib does not
pipeline commands, so PIPELINING is not used: parallel connections give the
throughput instead). Connections are opened lazily, kept open between calls
(checked with NOOP before reuse), and reopened after a disconnect.

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
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPHeloError,
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
)

from shopmail.domain.retry import Outcome, classify
from shopmail.mail.transports.base import Envelope, Rejection, SendResult, TransportConfigError

__all__ = ["CONFIG_ERROR_CODES", "Security", "SmtpTransport"]

Security = Literal["none", "starttls", "tls"]
# Authentication required (530), mechanism too weak (534), credentials
# invalid (535), encryption required (538): RFC 4954.
CONFIG_ERROR_CODES = frozenset({530, 534, 535, 538})


class _Unreachable(Exception):
    """The server could not be reached or set up right now (a transient problem)."""

    def __init__(self, code: int | None, reply: str) -> None:
        super().__init__(reply)
        self.code = code
        self.reply = reply


@dataclass
class _Batch:
    envelopes: Sequence[Envelope]
    pending: deque[int] = field(init=False)
    results: list[SendResult | None] = field(init=False)
    config_error: str | None = None
    unreachable: _Unreachable | None = None

    def __post_init__(self) -> None:
        self.pending = deque(range(len(self.envelopes)))
        self.results = [None] * len(self.envelopes)

    def finish(self) -> list[SendResult]:
        if self.config_error is not None:
            raise TransportConfigError(self.config_error, self.results)
        problem = self.unreachable or _Unreachable(None, "not attempted")
        done: list[SendResult] = []
        for envelope, result in zip(self.envelopes, self.results, strict=True):
            done.append(result or SendResult(envelope.key, Outcome.DEFER, problem.code, problem.reply))
        return done


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
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(pool_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._hello_name = local_hostname  # looked up once (socket.getfqdn) if not given

    def __repr__(self) -> str:
        user = f" as {self.username}" if self.username else ""
        return f"<SmtpTransport {self.host}:{self.port} {self.security}{user}>"

    async def send_many(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections and the semaphore belong to one event loop
            self._loop, self._idle, self._slots = loop, [], asyncio.Semaphore(self.pool_size)
        self._closed = False
        batch = _Batch(envelopes)
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

    async def _work(self, batch: _Batch) -> None:
        async with self._slots:
            smtp = await self._reuse()
            try:
                while batch.pending and batch.config_error is None:
                    if smtp is None or not smtp.is_connected:
                        smtp = await self._connect()
                        if not batch.pending or batch.config_error is not None:
                            break
                    index = batch.pending.popleft()
                    batch.results[index] = await self._send_one(smtp, batch.envelopes[index])
            except TransportConfigError as exc:
                batch.config_error = str(exc)
                if smtp is not None:
                    _drop(smtp)
            except _Unreachable as exc:
                batch.unreachable = exc
            finally:
                if smtp is not None and smtp.is_connected and not self._closed:
                    self._idle.append(smtp)
                elif smtp is not None:
                    _drop(smtp)

    async def _reuse(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            smtp = self._idle.pop()
            try:
                await smtp.noop(timeout=min(self.timeout, 10.0))
                return smtp
            except Exception:  # whatever went wrong, a fresh connection is the cure
                _drop(smtp)
        return None

    async def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.execute_command(b"QUIT", timeout=min(self.timeout, 5.0))
        except Exception:  # noqa: S110 - closing anyway
            pass
        finally:
            _drop(smtp)

    # -- opening a connection ------------------------------------------------------------------

    async def _connect(self) -> aiosmtplib.SMTP:
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
        except TransportConfigError:
            _drop(smtp)
            raise
        except Exception as exc:
            _drop(smtp)
            raise _connect_problem(where, exc) from exc
        return smtp

    @staticmethod
    async def _hello(smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.ehlo()
        except SMTPHeloError as exc:
            if not (500 <= exc.code < 600 and smtp.is_connected):
                raise
            await smtp.helo()

    # -- one transaction -----------------------------------------------------------------------

    async def _send_one(self, smtp: aiosmtplib.SMTP, envelope: Envelope) -> SendResult:
        key = envelope.key
        stage = "MAIL FROM"
        try:
            if not envelope.rcpt_to:
                return SendResult(key, Outcome.FAIL, None, "the message has no recipients")
            addresses = (envelope.mail_from, *envelope.rcpt_to)
            utf8 = not all(address.isascii() for address in addresses)
            options: list[str] = []
            if utf8:
                if not smtp.supports_extension("smtputf8"):
                    return SendResult(
                        key, Outcome.FAIL, None, "a non-ASCII address needs SMTPUTF8, which the server lacks"
                    )
                options.append("SMTPUTF8")
            if not envelope.data.isascii() and smtp.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
            if smtp.supports_extension("size"):
                options.append(f"SIZE={len(envelope.data)}")
            encoding = "utf-8" if utf8 else "ascii"

            await smtp.mail(envelope.mail_from, options=options, encoding=encoding)
            stage = "RCPT TO"
            accepted: list[str] = []
            refused: list[Rejection] = []
            for recipient in envelope.rcpt_to:
                try:
                    await smtp.rcpt(recipient, encoding=encoding)
                    accepted.append(recipient)
                except SMTPRecipientRefused as exc:
                    if exc.code in CONFIG_ERROR_CODES or exc.code == 421 or not smtp.is_connected:
                        raise
                    refused.append(Rejection(recipient, exc.code, exc.message))
            temporary = [r for r in refused if classify(r.code) is not Outcome.FAIL]
            if temporary or not accepted:
                await self._reset(smtp)
                first = (temporary or refused)[0]
                outcome = Outcome.DEFER if temporary else Outcome.FAIL
                return SendResult(key, outcome, first.code, _describe(refused))
            stage = "DATA"
            response = await smtp.data(envelope.data)
            reply = f"{response.code} {response.message}"
            if refused:
                reply = f"{reply}; refused: {_describe(refused)}"
            return SendResult(key, classify(response.code), response.code, reply, tuple(refused))
        except SMTPResponseException as exc:
            await self._reset(smtp)
            if exc.code in CONFIG_ERROR_CODES:
                raise TransportConfigError(
                    f"{self.host}:{self.port}: {stage}: {exc.code} {exc.message}"
                ) from exc
            return SendResult(key, classify(exc.code), exc.code, f"{exc.code} {exc.message}")
        except (SMTPException, OSError, TimeoutError) as exc:
            _drop(smtp)
            text = f"{stage}: {_error_text(exc)}"
            if stage == "DATA":
                text += (
                    "; delivery is ambiguous: the server may have the message (retry keeps its Message-ID)"
                )
            return SendResult(key, Outcome.DEFER, None, text)
        except ValueError as exc:
            await self._reset(smtp)
            return SendResult(key, Outcome.FAIL, None, f"invalid envelope: {exc}")
        except Exception as exc:  # a bug or a surprise: keep the message, lose the connection
            _drop(smtp)
            return SendResult(key, Outcome.DEFER, None, f"{stage}: unexpected error: {exc!r}")

    @staticmethod
    async def _reset(smtp: aiosmtplib.SMTP) -> None:
        if not smtp.is_connected:
            return
        try:
            await smtp.rset()
        except (SMTPException, OSError, TimeoutError):
            _drop(smtp)


def _drop(smtp: aiosmtplib.SMTP) -> None:
    """Close now: abort rather than a graceful TLS shutdown that could outlive the event loop."""
    transport = smtp.transport
    if isinstance(transport, asyncio.Transport) and not transport.is_closing():
        transport.abort()
    smtp.close()


def _describe(refused: Sequence[Rejection]) -> str:
    return "; ".join(f"{r.recipient}: {r.code} {r.reply}" for r in refused)


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


def _connect_problem(where: str, exc: Exception) -> TransportConfigError | _Unreachable:
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
        return _Unreachable(exc.code, f"{where}: {reply}")
    if isinstance(exc, OSError | TimeoutError | SMTPServerDisconnected):
        # aiosmtplib's connect, timeout and disconnect errors are OSError/TimeoutError subclasses.
        return _Unreachable(None, f"{where}: {_error_text(exc)}")
    if isinstance(exc, SMTPException):
        # e.g. "No suitable authentication method found".
        return TransportConfigError(f"{where}: {_error_text(exc)}")
    return _Unreachable(None, f"{where}: unexpected error: {exc!r}")
