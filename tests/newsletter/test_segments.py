"""Segment filters against seeded customers: each filter, combinations, and never the opted-out."""

from __future__ import annotations

import datetime as dt

import pytest
from newsletter_support import UTC, customer, order_for

from shopmail.newsletter import consent, segments
from shopmail.newsletter.models import ConsentSource

pytestmark = pytest.mark.django_db


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def shop(store):
    """Eight opted-in customers with varied data, and three who must never be included."""
    people = {
        "ana": customer(1, language="en", country="NO", registered_at=day("2024-03-01")),
        "bo": customer(2, language="nb", country="NO", registered_at=day("2025-02-01")),
        "cai": customer(3, language="de", country="DE", registered_at=day("2025-08-15")),
        "dag": customer(4, language="en-GB", country="SE", registered_at=day("2026-01-10")),
        "eli": customer(5, language="", country="NO", registered_at=day("2025-05-05")),
        "fay": customer(6, language="nb_NO", country="SE", registered_at=None),
        "gus": customer(7, language="de", country="NO", registered_at=day("2023-01-01")),
        "hal": customer(8, language="en", country="DE", registered_at=day("2025-12-31")),
        # never: not opted in, opted out by link after the shop's opt-in, no address
        "out": customer(9, newsletter_opt_in=False),
        "left": customer(10),
        "blank": customer(11, email=""),
    }
    consent.unsubscribe(people["left"], source=ConsentSource.UNSUBSCRIBE_LINK)
    left = people["left"]
    left.newsletter_opt_in = True  # the shop re-sends its stale opt-in: the unsubscribe still counts
    left.save()
    # orders: ana 3 (MUG, SOCK), bo 1 big, cai 2, dag 1 cancelled only, hal 1 old
    order_for(people["ana"], "o1", skus=("MUG-01",), total="10.00", created=day("2025-01-10"))
    order_for(people["ana"], "o2", skus=("SOCK-W", "MUG-01"), total="20.50", created=day("2025-06-01"))
    order_for(people["ana"], "o3", skus=("TEA",), total="5.25", created=day("2026-02-01"))
    order_for(people["bo"], "o4", skus=("SOCK-W",), total="499.99", created=day("2025-11-11"))
    order_for(people["cai"], "o5", skus=("BOOK",), total="30.19", created=day("2025-09-01"))
    order_for(people["cai"], "o6", skus=("BOOK", "TEA"), total="10.11", created=day("2025-10-01"))
    order_for(
        people["dag"], "o7", skus=("MUG-01",), total="900.00", created=day("2026-01-11"), status="cancelled"
    )
    order_for(people["hal"], "o8", skus=("LAMP",), total="70.00", created=day("2024-02-02"))
    order_for(people["out"], "o9", skus=("MUG-01",), total="1000.00", created=day("2025-06-01"))
    order_for(people["left"], "o10", skus=("MUG-01",), total="1000.00", created=day("2025-06-01"))
    return people


def names(shop, filters) -> set[str]:
    ids = set(segments.queryset(segments.clean(filters)).values_list("pk", flat=True))
    found = {name for name, c in shop.items() if c.pk in ids}
    assert not found & {"out", "left", "blank"}, "opted-out customers must never be included"
    assert segments.count(segments.clean(filters)) == len(found)
    return found


ALL = {"ana", "bo", "cai", "dag", "eli", "fay", "gus", "hal"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ALL),
        (
            {"language": "en"},
            {"ana", "dag", "hal", "eli"},
        ),  # en-GB matches en; no language = store default (en)
        ({"language": ["nb", "de"]}, {"bo", "fay", "cai", "gus"}),
        ({"language": "NB"}, {"bo", "fay"}),
        ({"country": "no"}, {"ana", "bo", "eli", "gus"}),
        ({"country": ["SE", "DE"]}, {"dag", "fay", "cai", "hal"}),
        ({"registered_after": "2025-05-05"}, {"cai", "dag", "eli", "hal"}),  # the day itself counts
        ({"registered_before": "2025-05-05"}, {"ana", "bo", "gus"}),
        ({"registered_after": "2025-05-05T12:00:00+02:00"}, {"cai", "dag", "hal"}),
        ({"ordered_sku": "MUG-01"}, {"ana"}),  # dag's only MUG order is cancelled
        ({"ordered_sku": ["TEA", "LAMP"]}, {"ana", "cai", "hal"}),
        ({"min_orders": 2}, {"ana", "cai"}),
        ({"min_orders": 3}, {"ana"}),
        ({"min_orders": 0}, ALL),
        ({"min_total_spent": "40.30"}, {"bo", "cai", "hal"}),  # 30.19 + 10.11 is exactly 40.30
        ({"min_total_spent": "40.31"}, {"bo", "hal"}),
        ({"min_total_spent": "35.75"}, {"ana", "bo", "cai", "hal"}),  # ana: 10 + 20.50 + 5.25
        ({"last_order_after": "2025-10-01"}, {"ana", "bo", "cai"}),
        ({"last_order_before": "2025-10-01"}, {"hal"}),
        ({"last_order_before": "2025-10-02", "last_order_after": "2025-01-01"}, {"cai"}),
    ],
)
def test_each_filter(shop, filters, expected):
    assert names(shop, filters) == expected


def test_combinations(shop):
    assert names(shop, {"language": "en", "country": "NO"}) == {"ana", "eli"}
    assert names(shop, {"country": "NO", "min_orders": 1, "ordered_sku": "SOCK-W"}) == {"ana", "bo"}
    assert names(
        shop, {"language": ["en", "de"], "min_total_spent": "30", "last_order_after": "2025-01-01"}
    ) == {
        "ana",
        "cai",
    }
    assert names(
        shop, {"registered_after": "2024-01-01", "registered_before": "2025-06-01", "min_orders": 1}
    ) == {
        "ana",
        "bo",
    }
    assert names(shop, {"country": "DE", "language": "nb"}) == set()


def test_opted_out_never_included_whatever_the_filters(shop):
    for filters in ({}, {"ordered_sku": "MUG-01"}, {"min_total_spent": "999"}, {"language": "en"}):
        assert not names(shop, filters) & {"out", "left", "blank"}


def test_opting_in_again_after_unsubscribing_counts(shop):
    left = shop["left"]
    assert consent.subscribe(left) is False  # the shop says opted in already
    left.newsletter_opt_in_at = dt.datetime.now(UTC) + dt.timedelta(seconds=1)  # a new opt-in, after
    left.save()
    assert "left" in {
        n for n, c in shop.items() if c.pk in set(segments.queryset({}).values_list("pk", flat=True))
    }


@pytest.mark.parametrize(
    ("filters", "loc"),
    [
        ({"language": "english"}, ["segment", "language"]),
        ({"country": "NOR"}, ["segment", "country"]),
        ({"registered_after": "yesterday"}, ["segment", "registered_after"]),
        ({"registered_after": "2025-01-01T10:00:00"}, ["segment", "registered_after"]),  # no zone
        ({"min_orders": -1}, ["segment", "min_orders"]),
        ({"min_orders": "many"}, ["segment", "min_orders"]),
        ({"min_total_spent": "ten"}, ["segment", "min_total_spent"]),
        ({"min_total_spent": "-5"}, ["segment", "min_total_spent"]),
        ({"colour": "blue"}, ["segment", "colour"]),
        ({"ordered_sku": [""]}, ["segment", "ordered_sku"]),
    ],
)
def test_bad_filters_are_named(filters, loc):
    with pytest.raises(segments.SegmentError) as caught:
        segments.clean(filters)
    assert [error["loc"][:2] for error in caught.value.errors] == [loc]


def test_every_bad_filter_is_named_at_once():
    with pytest.raises(segments.SegmentError) as caught:
        segments.clean({"language": "x", "min_orders": -2, "last_order_before": "soon"})
    assert sorted(e["loc"][1] for e in caught.value.errors) == ["language", "last_order_before", "min_orders"]


def test_clean_normalises():
    assert segments.clean(
        {"language": "EN, nb", "country": "no", "ordered_sku": "A,B", "min_orders": "2"}
    ) == {
        "language": ["en", "nb"],
        "country": ["NO"],
        "ordered_sku": ["A", "B"],
        "min_orders": 2,
    }
    assert segments.clean({"min_total_spent": 40.3, "language": [], "registered_after": ""}) == {
        "min_total_spent": "40.3"
    }
