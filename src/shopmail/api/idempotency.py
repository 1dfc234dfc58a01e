"""``Idempotency-Key`` on every POST under /api/ (SPEC section 2), as one middleware.

A POST that carries the header and a valid API key is answered once: the first answer (status,
body, content type) is stored per API key and key for 24 hours, and a repeat gets that answer
again (with ``Idempotent-Replayed: true``) without running anything. The same key with another
request (method, path, query or body) gets 409 and changes nothing; so does a repeat while the
first call is still running. Answers of 500 and above are not kept, so the client may retry
them with the same key. Requests without a valid API key pass through untouched (the API
answers 401; the shop webhooks, signed instead, de-duplicate by their own webhook id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

import orjson
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from shopmail.api import keys
from shopmail.api.models import ApiKey, IdempotencyKey

HEADER = "Idempotency-Key"
KEEP = dt.timedelta(hours=24)
ABANDONED = dt.timedelta(minutes=10)  # a first call "in progress" this long ago died with its process
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples
_KEPT_HEADERS = ("Location", "Retry-After")


def _json(data: object, status: int) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type="application/json")


def _api_key(request: HttpRequest) -> ApiKey | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return keys.check(token.strip())


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\x00")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.body), status=row.status or 200, content_type=row.content_type or None)
    for name, value in (row.headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


class Idempotency:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not request.path.startswith("/api/") or HEADER not in request.headers:
            return self.get_response(request)
        value = request.headers[HEADER]
        if not _KEY.match(value):
            return _json(
                {"detail": [{"loc": ["header", HEADER], "msg": "must be 1 to 255 visible ASCII characters"}]},
                422,
            )
        api_key = _api_key(request)
        if api_key is None:
            return self.get_response(request)
        return self._once(request, api_key, value)

    def _once(self, request: HttpRequest, api_key: ApiKey, value: str) -> HttpResponse:
        now = timezone.now()
        digest = fingerprint(request)
        row = IdempotencyKey.objects.filter(api_key=api_key, key=value).first()
        if row is not None and (
            row.created_at < now - KEEP or (row.status is None and row.created_at < now - ABANDONED)
        ):
            row.delete()  # expired, or its first call died: the key is free again
            row = None
        if row is None:
            try:
                with transaction.atomic():
                    row = IdempotencyKey.objects.create(api_key=api_key, key=value, fingerprint=digest)
            except IntegrityError:  # the same key arrived twice at once: the other one runs it
                row = IdempotencyKey.objects.filter(api_key=api_key, key=value).first()
                if row is None:
                    return _json({"detail": "a request with this Idempotency-Key is in progress"}, 409)
            else:
                return self._first(request, row, now)
        if row.fingerprint != digest:
            return _json({"detail": "this Idempotency-Key was used with another request"}, 409)
        if row.status is None:
            response = _json({"detail": "a request with this Idempotency-Key is in progress"}, 409)
            response["Retry-After"] = "1"
            return response
        return _replay(row)

    def _first(self, request: HttpRequest, row: IdempotencyKey, now: dt.datetime) -> HttpResponse:
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyKey.objects.filter(pk=row.pk).delete()
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            IdempotencyKey.objects.filter(pk=row.pk).delete()  # not an answer: a retry may run it
            return response
        IdempotencyKey.objects.filter(pk=row.pk).update(
            status=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content,
            headers={name: response[name] for name in _KEPT_HEADERS if name in response},
        )
        IdempotencyKey.objects.filter(created_at__lt=now - KEEP).delete()  # forget what is older than 24 h
        return response
