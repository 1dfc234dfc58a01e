"""Capture transport: write each message to a directory instead of sending it.

The twin of the SMTP transport for development and tests. Each envelope
becomes ``<UTC timestamp>-<key>.eml`` (the key made filename-safe), written
atomically: a temporary file in the same directory, flushed and fsynced,
then ``os.replace``d into place and the directory fsynced, so a reader never
sees half a message. Like a local delivery agent, it prepends
``Return-Path: <sender>`` and one ``Delivered-To: <recipient>`` line per
envelope recipient (Bcc recipients are not in the headers); the message
bytes follow unchanged. Any file can be opened by a mail client or parsed
with ``email.message_from_bytes``.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from shopmail.domain.retry import Outcome
from shopmail.mail.transports.base import Envelope, SendResult, expired

__all__ = ["CaptureTransport"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CaptureTransport:
    name = "capture"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"<CaptureTransport {self.directory}>"

    async def send_many(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[SendResult]:
        def write_all() -> list[SendResult]:
            results = []
            for envelope in envelopes:
                if expired(deadline):
                    break
                results.append(self._write(envelope))
            return results

        return await asyncio.to_thread(write_all)

    async def close(self) -> None:
        return None

    def _write(self, envelope: Envelope) -> SendResult:
        addresses = (envelope.mail_from, *envelope.rcpt_to)
        if not envelope.rcpt_to or any(_CONTROL.search(address) for address in addresses):
            return SendResult(
                envelope.key, Outcome.FAIL, None, "invalid envelope: no recipients or bad address"
            )
        newline = b"\r\n" if b"\r\n" in envelope.data[:4096] or not envelope.data else b"\n"
        trace = [f"Return-Path: <{envelope.mail_from}>".encode()]
        trace += [f"Delivered-To: {recipient}".encode() for recipient in envelope.rcpt_to]
        content = newline.join(trace) + newline + envelope.data
        try:
            path = self._store(envelope.key, content)
        except OSError as exc:
            return SendResult(envelope.key, Outcome.DEFER, None, f"capture failed: {exc}")
        return SendResult(envelope.key, Outcome.SENT, 250, f"250 captured to {path}")

    def _store(self, key: str, content: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        stem = f"{stamp}-{_UNSAFE.sub('_', key)[:100] or 'message'}"
        path = self.directory / f"{stem}.eml"
        counter = 1
        while path.exists():
            path = self.directory / f"{stem}-{counter}.eml"
            counter += 1
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".capture-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(self.directory)
        return path


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the file itself is synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
