"""Transports: SMTP (pooled), sendmail and capture, behind one small protocol.

``make_transport(config, data_dir)`` builds one from a plain dict::

    {"kind": "smtp", "host": "mail.example.com", "port": 587, "security": "starttls",
     "username": "shop", "password": "...", "timeout": 30, "pool_size": 4}
    {"kind": "smtp", "url": "smtp://shop:p%40ss@mail.example.com?security=starttls"}
    {"kind": "sendmail"}                  # runs SHOPMAIL_SENDMAIL (default /usr/sbin/sendmail)
    {"kind": "capture", "directory": "captured-mail"}   # relative to data_dir
    {"kind": "memory", "outbox": "name"}  # tests only (transports/memory.py); not offered by the API

SMTP keys: host (required unless url), port (default from security),
security ("none" | "starttls" | "tls", default "starttls"), username,
password, timeout, pool_size, local_hostname, cafile (a PEM bundle to trust
instead of the system's), url (``parse_smtp_url``; explicit keys override
it). Unknown keys are refused, so a typo does not silently change behaviour.

The sendmail program is never taken from the config dict (which the API and the panel write):
only the ``SHOPMAIL_SENDMAIL`` environment variable names it; a stored ``path`` is ignored. A
password sealed by ``core.secretbox`` is opened here, just before it is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopmail.core import secretbox
from shopmail.domain.smtp_url import DEFAULT_PORTS, parse_smtp_url
from shopmail.mail.transports.base import Envelope, Rejection, SendResult, Transport, TransportConfigError
from shopmail.mail.transports.capture import CaptureTransport
from shopmail.mail.transports.memory import MemoryTransport
from shopmail.mail.transports.sendmail import SendmailTransport, configured_path
from shopmail.mail.transports.smtp import SmtpTransport

__all__ = [
    "CaptureTransport",
    "Envelope",
    "Rejection",
    "SendResult",
    "SendmailTransport",
    "SmtpTransport",
    "Transport",
    "TransportConfigError",
    "make_transport",
    "parse_smtp_url",
    "smtp_options",
]

_SMTP_KEYS = {
    "url", "host", "port", "security", "username", "password",
    "timeout", "pool_size", "local_hostname", "cafile",
}  # fmt: skip
_SENDMAIL_KEYS = {"timeout"}
_CAPTURE_KEYS = {"directory"}


def make_transport(config: dict[str, Any], data_dir: Path) -> Transport:
    kind = config.get("kind")
    options = {key: value for key, value in config.items() if key != "kind"}
    if kind == "smtp":
        return SmtpTransport(**smtp_options(options))
    if kind == "sendmail":
        options.pop("path", None)  # written by an older version's panel/API: never a program to run
        _refuse_unknown(options, _SENDMAIL_KEYS, "sendmail")
        return SendmailTransport(path=configured_path(), **options)
    if kind == "capture":
        _refuse_unknown(options, _CAPTURE_KEYS, "capture")
        directory = Path(options.get("directory", "captured-mail"))
        return CaptureTransport(directory if directory.is_absolute() else Path(data_dir) / directory)
    if kind == "memory":  # tests only: the settings API offers smtp, sendmail and capture
        _refuse_unknown(options, {"outbox"}, "memory")
        return MemoryTransport(**options)
    raise ValueError(f"unknown transport kind {kind!r}; use 'smtp', 'sendmail' or 'capture'")


def smtp_options(config: dict[str, Any]) -> dict[str, Any]:
    """Validate an smtp config dict (without ``kind``) into ``SmtpTransport`` keyword arguments."""
    _refuse_unknown(config, _SMTP_KEYS, "smtp")
    options: dict[str, Any] = {}
    if "url" in config:
        options.update({k: v for k, v in parse_smtp_url(config["url"]).items() if v is not None})
    options.update({k: v for k, v in config.items() if k != "url" and v is not None})
    if options.get("password"):
        try:
            options["password"] = secretbox.unseal(options["password"])
        except secretbox.SecretUnreadable as exc:
            raise ValueError(f"smtp: {exc}") from None
    if not options.get("host"):
        raise ValueError("smtp: host is required")
    security = options.setdefault("security", "starttls")
    if security not in DEFAULT_PORTS:
        raise ValueError(f"smtp: security must be 'none', 'starttls' or 'tls', not {security!r}")
    port = options.setdefault("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"smtp: port must be a number from 1 to 65535, not {port!r}")
    for key in ("timeout", "pool_size"):
        value = options.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        ):
            raise ValueError(f"smtp: {key} must be a positive number, not {value!r}")
    if "pool_size" in options and not isinstance(options["pool_size"], int):
        raise ValueError("smtp: pool_size must be a whole number")
    return options


def _refuse_unknown(options: dict[str, Any], allowed: set[str], kind: str) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"{kind}: unknown option(s) {', '.join(sorted(unknown))}")
