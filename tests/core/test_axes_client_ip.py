"""django-axes stores the client address in an IP column: it gets an address or None, never a word."""

from __future__ import annotations

from django.http import HttpRequest

from shopmail.core.client_ip import axes_client_ip, client_ip


def test_no_address_is_none_for_axes_and_unknown_for_rate_limits():
    request = HttpRequest()  # what Client.force_login signs in with: no REMOTE_ADDR
    assert client_ip(request) == "unknown"
    assert axes_client_ip(request) is None


def test_an_address_is_passed_on():
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "192.0.2.7"
    assert axes_client_ip(request) == client_ip(request) == "192.0.2.7"
