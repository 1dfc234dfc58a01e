"""API keys: Argon2-hashed, verified once per process, and once for requests that come together."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from shopmail.api import keys

pytestmark = pytest.mark.django_db(transaction=True)


class CountingHasher:
    """The real Argon2 hasher, counting verifications."""

    def __init__(self, real):
        self.real = real
        self.verified = 0
        self.lock = threading.Lock()

    def verify(self, hashed, plain):
        with self.lock:
            self.verified += 1
        return self.real.verify(hashed, plain)

    def hash(self, plain):
        return self.real.hash(plain)


def check_together(plains: list[str]) -> list[object]:
    results: list[object] = [None] * len(plains)
    start = threading.Barrier(len(plains))

    def one(i: int) -> None:
        start.wait()
        try:
            results[i] = keys.check(plains[i])
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(plains))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_requests_arriving_together_share_one_argon2_verification(monkeypatch):
    hasher = CountingHasher(keys._hasher)
    monkeypatch.setattr(keys, "_hasher", hasher)
    key, plain = keys.create("shop")

    results = check_together([plain] * 8)

    assert [getattr(r, "pk", None) for r in results] == [key.pk] * 8
    assert hasher.verified == 1
    assert keys.check(plain).pk == key.pk and hasher.verified == 1  # remembered


def test_a_wrong_secret_with_a_known_prefix_is_refused_every_time(monkeypatch):
    hasher = CountingHasher(keys._hasher)
    monkeypatch.setattr(keys, "_hasher", hasher)
    key, plain = keys.create("shop")
    wrong = plain[:-4] + ("AAAA" if not plain.endswith("AAAA") else "BBBB")

    results = check_together([wrong, wrong, plain, wrong])

    assert [getattr(r, "pk", None) for r in results].count(key.pk) == 1
    assert results.count(None) == 3
    assert keys.check(wrong) is None  # a wrong secret is never remembered as verified
    assert keys.check(plain).pk == key.pk
