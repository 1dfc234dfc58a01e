"""Is the sending domain's DNS right for what shopmail sends? (``shopmail check``, the panel.)

``check(settings, resolve)`` looks up the DKIM record of the stored key, the From domain's SPF and
DMARC records and the bounce domain's MX, and says what is missing or wrong. ``resolve(name,
rdtype)`` gives the record texts (TXT strings joined); the default asks the system's resolver
with dnspython, and tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shopmail.core import secretbox
from shopmail.domain import dkim
from shopmail.mail import signing
from shopmail.store.models import StoreSettings

Resolve = Callable[[str, str], list[str]]


class LookupFailed(Exception):
    """The resolver could not answer (timeout, no network): nothing can be said about the record."""


@dataclass(frozen=True)
class Finding:
    level: str  # ok, warning, error
    topic: str  # dkim, spf, dmarc, bounces
    text: str


def system_resolve(name: str, rdtype: str) -> list[str]:
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, rdtype, lifetime=5)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
    if rdtype == "TXT":
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]  # type: ignore[attr-defined]
    return [r.to_text() for r in answer]


def check(settings: StoreSettings, resolve: Resolve = system_resolve) -> list[Finding]:
    findings: list[Finding] = []
    from_domain = settings.from_email.rpartition("@")[2].lower()
    findings.append(_dkim(settings, resolve))
    findings.append(_txt_present(resolve, from_domain, "v=spf1", "spf", f"SPF record of {from_domain}"))
    findings.append(
        _txt_present(resolve, f"_dmarc.{from_domain}", "v=DMARC1", "dmarc", f"DMARC record of {from_domain}")
    )
    bounce_domain = str((settings.bounces or {}).get("domain") or "")
    if bounce_domain:
        try:
            mx = resolve(bounce_domain, "MX")
        except LookupFailed as exc:
            findings.append(Finding("warning", "bounces", f"could not look up MX of {bounce_domain}: {exc}"))
        else:
            findings.append(
                Finding("ok", "bounces", f"bounce domain {bounce_domain} has MX {', '.join(mx)}")
                if mx
                else Finding(
                    "error",
                    "bounces",
                    f"bounce domain {bounce_domain} has no MX record: bounces cannot reach shopmail",
                )
            )
    return findings


def _dkim(settings: StoreSettings, resolve: Resolve) -> Finding:
    try:
        signer = signing.signer_for(settings.dkim or {})
    except (dkim.DkimError, secretbox.SecretUnreadable) as exc:
        return Finding("error", "dkim", f"the stored DKIM key cannot sign: {exc}")
    if signer is None:
        return Finding(
            "warning", "dkim", "messages are not DKIM-signed: shopmail dkim generate --domain D --selector S"
        )
    try:
        records = resolve(signer.dns_name, "TXT")
    except LookupFailed as exc:
        return Finding("warning", "dkim", f"could not look up {signer.dns_name}: {exc}")
    if not records:
        return Finding(
            "error", "dkim", f"no TXT record at {signer.dns_name}: publish {dkim.txt_line(signer)}"
        )
    if any(dkim.record_matches(record, signer) for record in records):
        return Finding("ok", "dkim", f"{signer.dns_name} publishes the key messages are signed with")
    return Finding(
        "error", "dkim", f"{signer.dns_name} publishes another key: publish {dkim.txt_line(signer)}"
    )


def _txt_present(resolve: Resolve, name: str, prefix: str, topic: str, what: str) -> Finding:
    try:
        records = resolve(name, "TXT")
    except LookupFailed as exc:
        return Finding("warning", topic, f"could not look up the {what}: {exc}")
    if any(record.strip().lower().startswith(prefix.lower()) for record in records):
        return Finding("ok", topic, f"{what} found")
    return Finding("warning", topic, f"no {what}: receivers may treat the mail as spam")
