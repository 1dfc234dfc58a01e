"""Sendmail transport: hand each message to the local MTA's ``sendmail`` command.

Runs ``<path> -i -f <sender> -- <recipient>...`` with the message on stdin
(line endings converted to the local ``\\n`` convention that sendmail
expects; ``-i`` so that a line with a single dot does not end the input).
No shell is involved; the recipients follow ``--`` and an address that
starts with ``-`` or holds a control character is refused before anything
runs, so an address can never become an option.

Exit status 0: SENT. 75 (``EX_TEMPFAIL``), death by a signal or our own
timeout: DEFER. Anything else: FAIL, with sendmail's stderr in the reply.
A missing or non-executable binary is a configuration error
(``TransportConfigError``, see ``base``); nothing is marked failed.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence

from shopmail import config
from shopmail.domain.retry import Outcome
from shopmail.mail.transports.base import Envelope, SendResult, TransportConfigError, expired

__all__ = ["DEFAULT_PATH", "EX_TEMPFAIL", "SendmailTransport", "configured_path"]

DEFAULT_PATH = "/usr/sbin/sendmail"  # when SHOPMAIL_SENDMAIL is not set (config.sendmail_path)

EX_TEMPFAIL = 75
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def configured_path() -> str:
    """The program to run: ``SHOPMAIL_SENDMAIL`` (SPEC section 1), nothing the API or panel set."""
    return config.sendmail_path()


class SendmailTransport:
    name = "sendmail"

    def __init__(self, path: str = DEFAULT_PATH, timeout: float = 60.0, concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.path = path
        self.timeout = timeout
        self.concurrency = concurrency

    def __repr__(self) -> str:
        return f"<SendmailTransport {self.path}>"

    async def send_many(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[SendResult]:
        if not (os.path.isfile(self.path) and os.access(self.path, os.X_OK)):
            raise TransportConfigError(
                f"sendmail: {self.path} is not an executable file", [None] * len(envelopes)
            )
        slots = asyncio.Semaphore(self.concurrency)

        async def one(envelope: Envelope) -> SendResult | None:
            async with slots:
                if expired(deadline):
                    return None  # not attempted
                return await self._send_one(envelope)

        outcomes = await asyncio.gather(*(one(e) for e in envelopes), return_exceptions=True)
        results: list[SendResult | None] = []
        problem: BaseException | None = None
        for outcome in outcomes:
            if isinstance(outcome, SendResult) or outcome is None:
                results.append(outcome)
            else:
                results.append(None)
                problem = outcome
        if problem is not None:
            if isinstance(problem, TransportConfigError):
                raise TransportConfigError(str(problem), results)
            raise problem
        return [result for result in results if result is not None]

    async def close(self) -> None:
        return None

    async def _send_one(self, envelope: Envelope) -> SendResult:
        key = envelope.key
        problem = _check_envelope(envelope)
        if problem:
            return SendResult(key, Outcome.FAIL, None, f"invalid envelope: {problem}")
        args = ["-i", "-f", envelope.mail_from, "--", *envelope.rcpt_to]
        data = envelope.data.replace(b"\r\n", b"\n")
        try:
            process = await asyncio.create_subprocess_exec(
                self.path,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise TransportConfigError(f"sendmail: cannot run {self.path}: {exc}") from exc
        try:
            _, stderr = await asyncio.wait_for(process.communicate(data), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return SendResult(key, Outcome.DEFER, None, f"sendmail did not finish within {self.timeout:g}s")
        except OSError as exc:  # e.g. a broken pipe when sendmail exits before reading everything
            await process.wait()
            return SendResult(key, Outcome.DEFER, None, f"sendmail: {exc}")
        status = process.returncode
        error = stderr.decode("utf-8", "replace").strip()
        if status == 0:
            return SendResult(key, Outcome.SENT, None, "sendmail exit status 0")
        if status == EX_TEMPFAIL:
            return SendResult(key, Outcome.DEFER, None, f"sendmail exit status 75 (EX_TEMPFAIL): {error}")
        if status is None or status < 0:
            return SendResult(
                key, Outcome.DEFER, None, f"sendmail killed by signal {-(status or 0)}: {error}"
            )
        return SendResult(key, Outcome.FAIL, None, f"sendmail exit status {status}: {error}")


def _check_envelope(envelope: Envelope) -> str:
    if not envelope.rcpt_to:
        return "no recipients"
    if envelope.mail_from.startswith("-") or _CONTROL.search(envelope.mail_from):
        return f"unsafe sender {envelope.mail_from!r}"
    for recipient in envelope.rcpt_to:
        if not recipient or recipient.startswith("-") or _CONTROL.search(recipient):
            return f"unsafe recipient {recipient!r}"
    return ""
