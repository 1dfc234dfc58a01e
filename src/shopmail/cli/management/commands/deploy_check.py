"""``shopmail check``: what is wrong with this deployment (SPEC section 1); exit 1 on an error.

Secret key, data directory permissions, ``SHOPMAIL_BASE_URL`` over https, trusted proxies, the
transport (reachable, encrypted), DKIM and bounce set-up (mail/deliverability/dns.py), retention,
pending migrations and Django's own deployment checks.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
# Done by the reverse proxy in the deployment kit (docs/deploy/nginx-shopmail.conf), not by Django.
PROXY_DOES = {"security.W004": "HSTS", "security.W008": "the redirect from HTTP to HTTPS"}


@dataclass(frozen=True)
class Finding:
    level: str  # ok, info, warning, error
    topic: str
    text: str


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secret_key() -> list[Finding]:
    if os.environ.get("SHOPMAIL_SECRET_KEY"):
        if "change" in os.environ["SHOPMAIL_SECRET_KEY"].lower():
            return [Finding("error", "secret key", "SHOPMAIL_SECRET_KEY looks like a placeholder")]
        return [Finding("ok", "secret key", "set by SHOPMAIL_SECRET_KEY")]
    path = Path(settings.DATA_DIR) / "secret_key"
    if not path.exists():
        return [Finding("error", "secret key", f"{path} is missing")]
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return [
            Finding("error", "secret key", f"{path} is readable by others (mode {mode:o}): chmod 600 {path}")
        ]
    return [Finding("ok", "secret key", f"generated, in {path} (mode {mode:o})")]


def data_dir() -> list[Finding]:
    path = Path(settings.DATA_DIR)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o007:
        return [
            Finding(
                "error",
                "data dir",
                f"{path} is open to every local user (mode {mode:o}): it holds the database and "
                f"captured mail; chmod 700 {path}",
            )
        ]
    if mode & 0o070:
        return [Finding("warning", "data dir", f"{path} is open to its group (mode {mode:o}): chmod 700")]
    return [Finding("ok", "data dir", f"{path} (mode {mode:o})")]


def debug() -> list[Finding]:
    if settings.DEBUG:
        return [Finding("error", "debug", "SHOPMAIL_DEBUG=1 shows internals on error pages: unset it")]
    return []


def base_url() -> list[Finding]:
    url = settings.BASE_URL
    parts = urlsplit(url)
    if "SHOPMAIL_BASE_URL" not in os.environ or _is_loopback(parts.hostname or ""):
        return [
            Finding(
                "error",
                "base URL",
                f"SHOPMAIL_BASE_URL is {url}: links in e-mails point at this machine, not at the "
                "public address (set it to https://your.host)",
            )
        ]
    if parts.scheme != "https":
        return [
            Finding(
                "error",
                "base URL",
                f"{url} is not https: sign-in, My page and links in e-mails travel unencrypted, "
                "cookies are not Secure (docs/deploy/ has nginx with TLS)",
            )
        ]
    return [Finding("ok", "base URL", f"{url} (Secure cookies, https links)")]


def trusted_proxies() -> list[Finding]:
    from shopmail.core.client_ip import trusted_proxies as configured

    networks = configured()
    if not networks:
        return [
            Finding(
                "info",
                "trusted proxies",
                "none: fine when clients connect to shopmail directly; behind nginx set "
                "SHOPMAIL_TRUSTED_PROXIES=127.0.0.1, or every visitor shares nginx's rate limits",
            )
        ]
    findings = []
    for network in networks:
        if network.prefixlen == 0:
            findings.append(
                Finding(
                    "error",
                    "trusted proxies",
                    f"{network} trusts every address: anyone can forge X-Forwarded-For and escape "
                    "rate limits",
                )
            )
        elif network.is_global:
            findings.append(
                Finding(
                    "warning",
                    "trusted proxies",
                    f"{network} is a public network: trust only your own proxies' addresses",
                )
            )
    return findings or [Finding("ok", "trusted proxies", ", ".join(str(network) for network in networks))]


def transport(connect: Callable[[str, int], None] | None = None) -> list[Finding]:
    from shopmail.mail.transports import smtp_options
    from shopmail.store.models import StoreSettings

    config = dict(StoreSettings.load().transport or {})
    kind = config.pop("kind", None)
    if kind == "capture":
        return [
            Finding(
                "error",
                "transport",
                "mail is captured to files in the data dir, not sent: set SMTP in the panel's e-mail "
                "settings (or SHOPMAIL_SMTP_URL before the first start)",
            )
        ]
    if kind == "sendmail":
        from shopmail.mail.transports.sendmail import configured_path

        path = configured_path()
        if os.access(path, os.X_OK):
            return [Finding("ok", "transport", f"sendmail: {path}")]
        return [Finding("error", "transport", f"sendmail: {path} is not an executable program")]
    if kind != "smtp":
        return [Finding("error", "transport", f"unknown transport kind {kind!r}")]
    try:
        options = smtp_options(config)
    except ValueError as exc:
        return [Finding("error", "transport", str(exc))]
    host, port, security = str(options["host"]), int(options["port"]), options["security"]
    findings = []
    try:
        (connect or _connect)(host, port)
    except OSError as exc:
        findings.append(Finding("error", "transport", f"cannot reach {host}:{port}: {exc}"))
    else:
        findings.append(Finding("ok", "transport", f"SMTP server {host}:{port} answers ({security})"))
    if security == "none" and not _is_loopback(host):
        findings.append(
            Finding(
                "error",
                "TLS",
                f"SMTP to {host} without TLS: the password and every e-mail cross the network in "
                "clear (use security=starttls or tls)",
            )
        )
    return findings


def _connect(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=5):
        pass


def deliverability() -> list[Finding]:
    try:
        from shopmail.mail.deliverability import dns
    except ImportError:
        return []
    from shopmail.store.models import StoreSettings

    return [Finding(f.level, f.topic, f.text) for f in dns.check(StoreSettings.load())]


def retention() -> list[Finding]:
    from shopmail.mail import retention as retention_module

    try:
        days = retention_module.retention_days()
    except ValueError as exc:
        return [Finding("error", "retention", str(exc))]
    if days == 0:
        return [Finding("info", "retention", "off: every message body is kept for ever")]
    return [Finding("ok", "retention", f"message bodies are dropped after {days} days")]


def migrations() -> list[Finding]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return [Finding("error", "database", f"{len(plan)} migrations not applied: run shopmail migrate")]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [Finding("ok", "database", f"{engine}, schema up to date")]


def django_deploy_checks() -> list[Finding]:
    from django.core import checks

    findings = []
    for message in checks.run_checks(include_deployment_checks=True):
        if message.is_silenced():
            continue
        if message.id in PROXY_DOES:
            findings.append(
                Finding(
                    "info",
                    "django",
                    f"{PROXY_DOES[message.id]} is the reverse proxy's job "
                    f"(docs/deploy/nginx-shopmail.conf does it) [{message.id}]",
                )
            )
        elif (
            message.id in {"security.W012", "security.W016"} and urlsplit(settings.BASE_URL).scheme != "https"
        ):
            continue  # the base URL finding says it: cookies follow SHOPMAIL_BASE_URL
        elif message.level >= checks.ERROR:
            findings.append(Finding("error", "django", f"{message.msg} [{message.id}]"))
        elif message.level >= checks.WARNING:
            findings.append(Finding("warning", "django", f"{message.msg} [{message.id}]"))
    return findings


CHECKS: list[Callable[[], list[Finding]]] = [
    secret_key,
    data_dir,
    debug,
    base_url,
    trusted_proxies,
    transport,
    deliverability,
    retention,
    migrations,
    django_deploy_checks,
]

MARK = {"ok": "ok     ", "info": "info   ", "warning": "WARNING", "error": "ERROR  "}


class Command(BaseCommand):
    help = (
        "Report what is unsafe or wrong in this deployment: secret key, data dir permissions, "
        "SHOPMAIL_BASE_URL https, trusted proxies, transport reachable, TLS, DKIM and bounces, "
        "retention, migrations, Django's deploy checks. Exit status 1 on an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="print warnings and errors only")

    def handle(self, *args: Any, **options: Any) -> None:
        findings: list[Finding] = []
        for check in CHECKS:
            try:
                findings.extend(check())
            except Exception as exc:  # one broken check must not hide the others
                findings.append(Finding("error", check.__name__, f"the check failed: {exc}"))
        for finding in findings:
            if options["quiet"] and finding.level in {"ok", "info"}:
                continue
            self.stdout.write(f"{MARK.get(finding.level, finding.level)}  {finding.topic}: {finding.text}")
        errors = sum(1 for f in findings if f.level == "error")
        warnings = sum(1 for f in findings if f.level == "warning")
        summary = f"{errors} errors, {warnings} warnings"
        if errors:
            raise CommandError(f"this deployment is not ready: {summary}")
        self.stdout.write(f"no errors ({summary})")
