"""The delivery worker's timings in the typed config (shopmail.config.delivery)."""

from __future__ import annotations

import pytest

from shopmail import config


def test_defaults(monkeypatch):
    for name in ("SHOPMAIL_CLAIM_TIMEOUT", "SHOPMAIL_RETRY_INITIAL", "SHOPMAIL_RETRY_INITIAL_BULK",
                 "SHOPMAIL_RETRY_MAX", "SHOPMAIL_RETRY_LIFETIME"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    timings = config.delivery()
    assert timings == config.Delivery(300.0, 10.0, 60.0, 3600.0, 259200.0)


def test_values_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHOPMAIL_CLAIM_TIMEOUT", "0")
    monkeypatch.setenv("SHOPMAIL_RETRY_INITIAL", "0.1")
    monkeypatch.setenv("SHOPMAIL_RETRY_LIFETIME", "0.5")
    monkeypatch.delenv("SHOPMAIL_RETRY_INITIAL_BULK", raising=False)
    timings = config.delivery()
    assert (timings.claim_timeout, timings.retry_initial, timings.retry_lifetime) == (0.0, 0.1, 0.5)
    assert timings.retry_initial_bulk == 60.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHOPMAIL_CLAIM_TIMEOUT", "five minutes"),
        ("SHOPMAIL_CLAIM_TIMEOUT", "-1"),
        ("SHOPMAIL_RETRY_INITIAL", "0"),
        ("SHOPMAIL_RETRY_MAX", "nan"),
        ("SHOPMAIL_RETRY_LIFETIME", "inf"),
    ],
)
def test_a_wrong_value_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        config.delivery()


def test_the_worker_reads_them_when_it_starts(monkeypatch):
    from shopmail.mail.leases import claim_timeout
    from shopmail.mail.outcomes import retry_schedule

    monkeypatch.setenv("SHOPMAIL_CLAIM_TIMEOUT", "42")
    monkeypatch.setenv("SHOPMAIL_RETRY_INITIAL", "3")
    monkeypatch.setenv("SHOPMAIL_RETRY_INITIAL_BULK", "90")
    assert claim_timeout().total_seconds() == 42
    schedule = retry_schedule()
    assert schedule.urgent.initial.total_seconds() == 3 and schedule.bulk.initial.total_seconds() == 90
