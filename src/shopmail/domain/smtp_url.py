"""``SHOPMAIL_SMTP_URL`` and the transport's ``url`` setting: an SMTP server as one URL (plain Python)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


def parse_smtp_url(url: str) -> dict[str, Any]:
    """Parse ``smtp[s]://[user[:password]@]host[:port][?security=none|starttls|tls]``.

    User and password are percent-decoded. ``smtp://`` defaults to
    ``security=starttls`` (say ``?security=none`` to send in plain text),
    ``smtps://`` means ``tls``. The port defaults to 25, 587 or 465 for
    none, starttls and tls. Returns host, port, security, username and
    password (None when absent). Raises ValueError saying what is wrong.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: the scheme must be smtp:// or smtps://")
    if port == 0:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: port 0")
    if not parts.hostname:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: unexpected path or fragment")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: malformed query") from None
    unknown = set(query) - {"security"}
    if unknown:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: unknown parameter(s) {', '.join(sorted(unknown))}")
    default = "tls" if scheme == "smtps" else "starttls"
    values = query.get("security", [default])
    security = values[-1].lower()
    if len(values) > 1 or security not in DEFAULT_PORTS:
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: security must be none, starttls or tls")
    if scheme == "smtps" and security != "tls":
        raise ValueError(f"bad SMTP URL {_redact(url)!r}: smtps:// always uses implicit TLS")
    return {
        "host": parts.hostname,
        "port": port if port is not None else DEFAULT_PORTS[security],
        "security": security,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password is not None else None,
    }


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"
