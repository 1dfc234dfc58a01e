"""The client's IP address, believing ``X-Forwarded-For`` only from trusted proxies.

``SHOPMAIL_TRUSTED_PROXIES`` (SPEC section 1) is a comma-separated list of addresses or CIDRs
(``127.0.0.1, 10.0.0.0/8``). A request that comes straight from a client has that client in
``REMOTE_ADDR``; one that comes through a trusted proxy has the client in the proxy's
``X-Forwarded-For``. The header is read from the right: each hop that is itself a trusted
proxy is skipped, and the first one that is not is the client (a client cannot forge the
hops a trusted proxy appended after its own value). With no trusted proxies the header is
never read. Every rate limit and every log line that names the client uses ``client_ip``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from shopmail import config

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ENV = "SHOPMAIL_TRUSTED_PROXIES"


def parse_trusted(value: str) -> tuple[Network, ...]:
    """The networks of a ``SHOPMAIL_TRUSTED_PROXIES`` value; ValueError names a bad entry."""
    networks = []
    for part in value.replace(";", ",").split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{ENV}: {text!r} is not an IP address or CIDR") from None
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    configured = getattr(settings, "SHOPMAIL_TRUSTED_PROXIES", None)
    if configured is None:
        return _from_env(config.trusted_proxies_text())
    if isinstance(configured, str):
        return _from_env(configured)
    return _from_list(tuple(str(item) for item in configured))


@lru_cache(maxsize=8)
def _from_env(value: str) -> tuple[Network, ...]:
    return parse_trusted(value)


@lru_cache(maxsize=8)
def _from_list(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_trusted(",".join(values))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: str, networks: Iterable[Network] | None = None) -> bool:
    parsed = _address(address)
    if parsed is None:
        return False
    return any(parsed in network for network in (trusted_proxies() if networks is None else networks))


def client_ip(request: HttpRequest) -> str:
    """The address rate limits and logs should see for this request."""
    remote = str(request.META.get("REMOTE_ADDR") or "").strip()
    networks = trusted_proxies()
    if not remote or not networks or not is_trusted(remote, networks):
        return remote or "unknown"
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:  # garbage written by whoever is left of the last trusted proxy
            return client
        client = str(parsed)
        if not is_trusted(client, networks):
            return client
    return client


def axes_client_ip(request: HttpRequest) -> str | None:
    """``client_ip`` for django-axes, which stores it in an IP address column: ``None`` when no
    address is known (a login made in code, e.g. ``Client.force_login``), never "unknown"."""
    address = client_ip(request)
    return None if _address(address) is None else address


def forwarded_proto(request: HttpRequest) -> str | None:
    """``X-Forwarded-Proto`` when the request came from a trusted proxy, else None."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if not is_trusted(remote):
        return None
    proto = str(request.META.get("HTTP_X_FORWARDED_PROTO") or "").split(",")[0].strip().lower()
    return proto if proto in {"http", "https"} else None
