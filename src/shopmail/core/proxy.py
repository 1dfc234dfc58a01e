"""Behind a trusted reverse proxy that terminated TLS, the request is https (``X-Forwarded-Proto``).

``core.client_ip.forwarded_proto`` believes the header only from ``SHOPMAIL_TRUSTED_PROXIES``;
this middleware (first in ``MIDDLEWARE``) then sets the WSGI scheme, so ``request.is_secure()``,
absolute URLs and Django's stricter CSRF checks for https requests see what the visitor used.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from shopmail.core.client_ip import forwarded_proto


class ForwardedProto:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        proto = forwarded_proto(request)
        if proto is not None:
            request.META["wsgi.url_scheme"] = proto  # WSGIRequest reads its scheme from here
        return self.get_response(request)
