"""core/client_ip: X-Forwarded-For is believed only from SHOPMAIL_TRUSTED_PROXIES."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from shopmail.core.client_ip import client_ip, forwarded_proto, parse_trusted


def _request(remote: str, forwarded: str | None = None, proto: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto is not None:
        extra["HTTP_X_FORWARDED_PROTO"] = proto
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.SHOPMAIL_TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"
    assert forwarded_proto(_request("203.0.113.9", proto="https")) is None


def test_a_trusted_proxy_names_the_client(settings):
    settings.SHOPMAIL_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert client_ip(_request("127.0.0.1", "198.51.100.7")) == "198.51.100.7"
    # two trusted hops: the first untrusted address from the right is the client
    assert client_ip(_request("127.0.0.1", "198.51.100.7, 10.1.2.3")) == "198.51.100.7"
    assert forwarded_proto(_request("127.0.0.1", proto="https")) == "https"


def test_a_client_cannot_forge_its_address_through_the_proxy(settings):
    settings.SHOPMAIL_TRUSTED_PROXIES = ["127.0.0.1"]
    # the client sent "X-Forwarded-For: 1.1.1.1"; nginx appended the real address
    assert client_ip(_request("127.0.0.1", "1.1.1.1, 198.51.100.7")) == "198.51.100.7"
    # an untrusted peer's header is never read
    assert client_ip(_request("198.51.100.7", "127.0.0.1")) == "198.51.100.7"
    # garbage left of the trusted hop: the hop that reported it counts
    assert client_ip(_request("127.0.0.1", "not-an-ip")) == "127.0.0.1"


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match="nonsense"):
        parse_trusted("127.0.0.1, nonsense")
    assert [str(n) for n in parse_trusted(" 10.0.0.0/8 ,::1")] == ["10.0.0.0/8", "::1/128"]


def test_behind_a_trusted_proxy_each_visitor_has_its_own_contact_limit(store, settings):
    """Behind nginx, six contact posts from six visitors got 429 (issue 19, finding 11)."""
    from django.test import Client

    from shopmail.account import throttle
    from shopmail.support.models import ContactMessage

    settings.SHOPMAIL_TRUSTED_PROXIES = ["127.0.0.1"]
    form = {
        "name": "Ola",
        "email": "ola@kafe.example.no",
        "subject": "Hi",
        "order": "",
        "message": "Hello",
        "website": "",
    }
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    visitors = throttle.CONTACT_POSTS_IP.count + 1
    for n in range(visitors):
        assert proxy.post("/contact/", form, HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}").status_code == 302
    assert ContactMessage.objects.count() == visitors
    # one visitor is still limited, however it rewrites the header it sends
    for _ in range(throttle.CONTACT_POSTS_IP.count):
        proxy.post("/contact/", form, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5")
    assert proxy.post("/contact/", form, HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.5").status_code == 429
