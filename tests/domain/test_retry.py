import random
import socket
from datetime import UTC, datetime, timedelta

import pytest

from shopmail.domain.retry import Outcome, RetryPolicy, classify


class ReplyError(Exception):
    """Stands in for an SMTP library error that carries the reply code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (250, Outcome.SENT),
        (251, Outcome.SENT),
        (421, Outcome.DEFER),
        (450, Outcome.DEFER),
        (451, Outcome.DEFER),
        (452, Outcome.DEFER),
        (500, Outcome.FAIL),
        (550, Outcome.FAIL),
        (554, Outcome.FAIL),
        (354, Outcome.DEFER),
    ],
)
def test_classify_by_code(code, outcome):
    assert classify(code) is outcome


@pytest.mark.parametrize(
    ("exception", "outcome"),
    [
        (TimeoutError("read timed out"), Outcome.DEFER),
        (ConnectionRefusedError(111, "refused"), Outcome.DEFER),
        (ConnectionResetError(104, "reset"), Outcome.DEFER),
        (socket.gaierror(-2, "Name or service not known"), Outcome.DEFER),
        (ReplyError(451), Outcome.DEFER),
        (ReplyError(550), Outcome.FAIL),
        (ReplyError(250), Outcome.SENT),
        (ValueError("address contains a newline"), Outcome.FAIL),
        (RuntimeError("something unexpected"), Outcome.DEFER),
    ],
)
def test_classify_by_exception_meaning(exception, outcome):
    assert classify(None, exception=exception) is outcome


def test_code_wins_over_exception():
    assert classify(550, exception=TimeoutError()) is Outcome.FAIL


def test_no_information_defers():
    assert classify(None) is Outcome.DEFER


def test_outcome_values_are_storable_strings():
    assert [o.value for o in Outcome] == ["sent", "defer", "fail"]
    assert Outcome("defer") is Outcome.DEFER


def test_deterministic_schedule_without_jitter():
    policy = RetryPolicy(jitter=0)
    delays = [policy.next_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_defaults():
    policy = RetryPolicy()
    assert policy.initial == timedelta(seconds=60)
    assert policy.factor == 2.0
    assert policy.max_delay == timedelta(hours=1)
    assert policy.lifetime == timedelta(days=3)
    assert policy.jitter == 0.1


def test_huge_attempt_number_is_capped_not_overflowing():
    policy = RetryPolicy(jitter=0, factor=10.0)
    assert policy.next_delay(10_000) == timedelta(hours=1)


def test_factor_one_is_constant():
    policy = RetryPolicy(jitter=0, factor=1.0)
    assert {policy.next_delay(n) for n in range(1, 50)} == {timedelta(seconds=60)}


def test_jitter_stays_within_bounds_and_varies():
    policy = RetryPolicy(jitter=0.1)
    rng = random.Random(1234)
    delays = [policy.next_delay(3, rng=rng).total_seconds() for _ in range(200)]
    assert all(216 <= d <= 264 for d in delays)
    assert len(set(delays)) > 100


def test_attempt_counts_from_one():
    with pytest.raises(ValueError):
        RetryPolicy().next_delay(0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": timedelta(0)},
        {"factor": 0.5},
        {"max_delay": timedelta(seconds=1)},
        {"lifetime": timedelta(0)},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_gives_up_after_lifetime():
    policy = RetryPolicy(lifetime=timedelta(days=3))
    first = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert not policy.gives_up(first, first)
    assert not policy.gives_up(first, first + timedelta(days=3) - timedelta(seconds=1))
    assert policy.gives_up(first, first + timedelta(days=3))
    assert policy.gives_up(first, first + timedelta(days=30))


def test_gives_up_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        RetryPolicy().gives_up(datetime(2025, 1, 1), datetime.now(UTC))


def test_order_mail_retries_within_seconds_newsletters_later():
    from shopmail.domain.retry import Schedule

    schedule = Schedule()
    urgent, bulk = schedule.policy(bulk=False), schedule.policy(bulk=True)
    assert urgent.next_delay(1) <= timedelta(seconds=11)  # ~10 s with jitter
    assert bulk.next_delay(1) >= timedelta(seconds=54)
    assert urgent.next_delay(2) > urgent.next_delay(1) * 1.5  # growing from there


def test_the_workers_own_backoff_grows_to_its_cap_and_starts_again():
    from shopmail.domain.retry import Backoff

    backoff = Backoff(first=0.5, cap=30.0)
    waits = [backoff.next() for _ in range(10)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0] and waits[-1] == 30.0 and max(waits) == 30.0
    backoff.reset()
    assert backoff.next() == 0.5
    for _ in range(10_000):  # no overflow however long the outage
        assert backoff.next() <= 30.0


@pytest.mark.parametrize(
    ("outcome", "code", "down"),
    [
        (Outcome.DEFER, None, True),  # refused, dropped, timed out
        (Outcome.DEFER, 421, True),  # service not available
        (Outcome.DEFER, 451, False),  # this message must wait (greylisting)
        (Outcome.DEFER, 452, False),
        (Outcome.SENT, 250, False),
        (Outcome.FAIL, 550, False),
    ],
)
def test_transport_down_means_the_server_not_the_message(outcome, code, down):
    from shopmail.domain.retry import transport_down

    assert transport_down(outcome, code) is down
