"""Find out what can deliver mail from here, for set-up screens and ``doctor`` commands.

``detect(smtp)`` reports, as a list of ``Detection(name, usable, detail)``:

* ``smtp``: whether the configured SMTP server (the ``smtp`` dict takes the
  same keys as ``make_transport``'s smtp config, or ``url``) answers, does the
  configured TLS and, with credentials, accepts them;
* ``smtp STARTTLS``, ``smtp AUTH``, ``smtp SMTPUTF8``, ``smtp PIPELINING``,
  ``smtp SIZE``, ``smtp 8BITMIME``: its EHLO capabilities (AUTH and the rest
  as offered after STARTTLS, when STARTTLS is configured);
* ``sendmail``: whether the program of ``SHOPMAIL_SENDMAIL`` (default /usr/sbin/sendmail) is
  there and executable;
* ``localhost:25``: an MTA listening on the local SMTP port.

Nothing is sent; the probes end with QUIT. Only the configured server and the local MTA are
contacted: callers pass the saved transport, never an address typed in a form (issue 19: a
"detect" on any host and port was a port scanner).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any

import aiosmtplib

from shopmail.mail.transports import smtp_options
from shopmail.mail.transports.sendmail import configured_path

__all__ = ["CAPABILITIES", "Detection", "detect"]

CAPABILITIES = ("STARTTLS", "AUTH", "SMTPUTF8", "PIPELINING", "SIZE", "8BITMIME")


@dataclass(frozen=True)
class Detection:
    name: str
    usable: bool
    detail: str


async def detect(smtp: dict[str, Any] | None) -> list[Detection]:
    found: list[Detection] = []
    if smtp is not None:
        found += await _probe_configured(smtp)
    found.append(_find_sendmail())
    found.append(await _probe_local_mta())
    return found


async def _probe_configured(config: dict[str, Any]) -> list[Detection]:
    try:
        options = smtp_options({k: v for k, v in config.items() if k != "kind"})
    except ValueError as exc:
        return [Detection("smtp", False, f"invalid configuration: {exc}")]
    host, port, security = options["host"], options["port"], options["security"]
    where = f"{host}:{port}"
    tls_context = ssl.create_default_context(cafile=options.get("cafile")) if security != "none" else None
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        timeout=min(float(options.get("timeout", 10.0)), 10.0),
        use_tls=security == "tls",
        start_tls=False,
        local_hostname=options.get("local_hostname"),
        tls_context=tls_context,
    )
    plain: dict[str, str] = {}
    secured: dict[str, str] = {}
    notes = [where]
    usable = True
    step = "connect"
    try:
        greeting = await client.connect()
        notes.append(f"answered {greeting.code} {greeting.message}")
        step = "EHLO"
        await client.ehlo()
        plain = secured = dict(client.esmtp_extensions)
        if security == "starttls":
            if client.supports_extension("starttls"):
                step = "STARTTLS"
                await client.starttls()
                await client.ehlo()
                secured = dict(client.esmtp_extensions)
                notes.append("STARTTLS ok")
            else:
                usable = False
                notes.append("STARTTLS is configured but not offered")
        elif security == "tls":
            notes.append("implicit TLS ok")
        if usable and options.get("username") is not None:
            step = "AUTH"
            await client.login(options["username"], options.get("password") or "")
            notes.append(f"login as {options['username']} ok")
        step = "QUIT"
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        usable = usable and step == "QUIT"
        notes.append(f"{step} failed: {_error_text(exc)}")
    found = [Detection("smtp", usable, "; ".join(notes))]
    if plain:
        found += _capability_detections(plain, secured, security)
    return found


def _capability_detections(plain: dict[str, str], secured: dict[str, str], security: str) -> list[Detection]:
    found = []
    for name in CAPABILITIES:
        source = plain if name == "STARTTLS" else secured
        if name == "STARTTLS" and security == "tls":
            found.append(
                Detection("smtp STARTTLS", False, "not applicable: the connection uses implicit TLS")
            )
            continue
        offered = name.lower() in source
        value = source.get(name.lower(), "").strip()
        detail = ("offered" + (f": {value}" if value else "")) if offered else "not offered"
        found.append(Detection(f"smtp {name}", offered, detail))
    return found


def _find_sendmail() -> Detection:
    path = configured_path()
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return Detection("sendmail", True, path)
    return Detection("sendmail", False, f"{path} is not an executable file (set SHOPMAIL_SENDMAIL)")


async def _probe_local_mta() -> Detection:
    client = aiosmtplib.SMTP(hostname="localhost", port=25, timeout=2.0, start_tls=False)
    try:
        greeting = await client.connect()
        await client.ehlo()
        offered = [name for name in CAPABILITIES if client.supports_extension(name.lower())]
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        return Detection("localhost:25", False, f"no MTA: {_error_text(exc)}")
    summary = ", ".join(offered) or "no extensions"
    return Detection("localhost:25", True, f"answered {greeting.code} {greeting.message}; {summary}")


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return str(exc) or type(exc).__name__
