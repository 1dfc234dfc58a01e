"""Status meanings (SPEC section 3) with the status names each platform really uses, and what
they send (SPEC section 4): plain Python, no database.

Status names: WooCommerce ``wc_get_order_statuses()`` (pending, processing, on-hold, completed,
cancelled, refunded, failed, checkout-draft); Magento 2 ``sales_order_status`` (pending,
pending_payment, payment_review, fraud, holded, processing, complete, closed, canceled);
PrestaShop's default order states 1-13; Shopify Admin REST Order ``financial_status``
(pending, authorized, partially_paid, paid, partially_refunded, refunded, voided),
``fulfillment_status`` and ``cancelled_at``.
"""

from __future__ import annotations

import pytest

from factories import evolve, order, shipment
from shopmail.domain import statuses
from shopmail.domain.changes import Change, baseline, diff
from shopmail.domain.rules import NOTED, NOTIFICATION_OFF, SHIPPED_ALREADY, NotifyState, Switches, decide


class Shop:
    """Snapshots of one order through diff + decide, as ingest does, under one status map."""

    def __init__(self, platform: str, overrides=None, switches: Switches | None = None):
        self.meaning = statuses.resolver(platform, overrides)
        self.switches = switches or Switches()
        self.stored = None
        self.state = NotifyState()
        self.keys: list[str] = []
        self.last = None

    def feed(self, snap, extra: tuple[Change, ...] = ()):
        is_new = self.stored is None
        found = [*diff(self.stored, snap, self.meaning), *extra]
        state = NotifyState(told=baseline(snap)) if is_new else self.state
        decision = decide(snap["id"], found, state=state, switches=self.switches, is_new=is_new)
        self.state, self.stored, self.last = decision.state, snap, decision
        self.keys.extend(intent.key for intent in decision.intents)
        return decision

    def sent(self) -> list[str]:
        return [key.split(":")[0] for key in self.keys]


# --- the maps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "status", "meaning"),
    [
        ("woocommerce", "pending", "pending"),
        ("woocommerce", "on-hold", "on_hold"),
        ("woocommerce", "failed", "failed"),
        ("woocommerce", "processing", "processing"),
        ("woocommerce", "completed", "completed"),
        ("woocommerce", "cancelled", "cancelled"),
        ("woocommerce", "refunded", "refunded"),
        ("woocommerce", "wc-on-hold", "on_hold"),
        ("woocommerce", "checkout-draft", None),
        ("magento", "pending", "pending"),
        ("magento", "pending_payment", "pending"),
        ("magento", "payment_review", "on_hold"),
        ("magento", "holded", "on_hold"),
        ("magento", "fraud", "on_hold"),
        ("magento", "processing", "processing"),
        ("magento", "complete", "completed"),
        ("magento", "closed", "refunded"),
        ("magento", "canceled", "cancelled"),
        ("prestashop", "1", "pending"),
        ("prestashop", "2", "processing"),
        ("prestashop", "payment_accepted", "processing"),
        ("prestashop", "4", "completed"),
        ("prestashop", "6", "cancelled"),
        ("prestashop", "7", "refunded"),
        ("prestashop", "8", "failed"),
        ("prestashop", "awaiting_bank_wire_payment", "pending"),
        ("generic", "pending", "pending"),
        ("generic", "on-hold", "on_hold"),
        ("generic", "on_hold", "on_hold"),
        ("generic", "failed", "failed"),
        ("generic", "paid", "processing"),
        ("generic", "invoiced", "processing"),
        ("generic", "shipped", "completed"),
        ("generic", "canceled", "cancelled"),
        ("generic", "CANCELLED", "cancelled"),
        ("generic", "refunded", "refunded"),
        ("generic", "awaiting-pickup", None),
        ("generic", None, None),
    ],
)
def test_presets(platform, status, meaning):
    assert statuses.meaning_of(status, platform) == meaning


def test_every_preset_maps_to_the_seven_meanings_only():
    assert len(statuses.MEANINGS) == 7
    for platform in statuses.PLATFORMS:
        assert set(statuses.preset(platform).values()) <= set(statuses.MEANINGS), platform


def test_status_map_overrides_and_adds():
    meaning = statuses.resolver("woocommerce", {"awaiting-shipment": "processing", "on-hold": "pending"})
    assert meaning("awaiting-shipment") == "processing"
    assert meaning("on-hold") == "pending"
    assert meaning("failed") == "failed"


def test_unknown_platform_and_bad_map_entries_are_named():
    with pytest.raises(ValueError, match="unknown platform 'wix'"):
        statuses.preset("wix")
    assert statuses.map_problems({"on-hold": "waiting", "": "pending", "paid": "processing"}) == [
        ("on-hold", "must be one of pending, on_hold, failed, processing, completed, cancelled, refunded"),
        ("", "a status is 1 to 64 characters"),
    ]


@pytest.mark.parametrize(
    ("financial", "fulfillment", "cancelled_at", "slug", "meaning"),
    [
        ("pending", None, None, "pending", "pending"),
        ("authorized", None, None, "authorized", "pending"),
        ("paid", None, None, "paid", "processing"),
        ("partially_paid", None, None, "partially_paid", "processing"),
        ("partially_refunded", "partial", None, "partially_refunded", "processing"),
        ("paid", "partial", None, "paid", "processing"),
        ("paid", "fulfilled", None, "fulfilled", "completed"),
        ("authorized", "fulfilled", None, "authorized", "pending"),  # fulfilled, not paid: not completed
        ("refunded", "fulfilled", None, "refunded", "refunded"),
        ("voided", None, None, "voided", "cancelled"),
        ("paid", None, "2026-11-20T10:15:00-05:00", "cancelled", "cancelled"),
        (None, None, None, "pending", "pending"),
    ],
)
def test_shopify_status_is_derived(financial, fulfillment, cancelled_at, slug, meaning):
    assert statuses.shopify_status(financial, fulfillment, cancelled_at) == slug
    assert statuses.shopify_meaning(financial, fulfillment, cancelled_at) == meaning
    assert statuses.meaning_of(slug, "shopify") == meaning


# --- what the meanings send ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["failed", "on-hold"])
def test_new_woocommerce_order_failed_or_on_hold_is_never_confirmed(status):
    shop = Shop("woocommerce")
    shop.feed(order(status=status))
    assert "order_confirmed" not in shop.sent()
    if status == "on-hold":
        assert shop.sent() == ["order_received", "admin_order_placed"]
    else:  # order_payment_failed is off by default; staff hear of the order and of the failure
        assert shop.sent() == ["admin_order_placed", "admin_order_failed"]
        assert ("order_payment_failed", NOTIFICATION_OFF) in [(c.rule, o) for c, o in shop.last.outcomes]


def test_payment_failed_mail_when_switched_on_then_confirmation_after_retry():
    shop = Shop("woocommerce", switches=Switches(notifications={"order_payment_failed": True}))
    first = order(status="pending")
    shop.feed(first)
    shop.feed(evolve(first, 5, status="failed"))
    shop.feed(evolve(first, 9, status="processing"))
    assert shop.sent() == [
        "order_received",
        "admin_order_placed",
        "order_payment_failed",
        "admin_order_failed",
        "order_confirmed",
    ]


def test_woocommerce_on_hold_then_processing_confirms():
    shop = Shop("woocommerce")
    first = order(status="on-hold")
    shop.feed(first)
    shop.feed(evolve(first, 5, status="processing"))
    assert shop.sent() == ["order_received", "admin_order_placed", "order_confirmed"]


def test_magento_pending_to_canceled_is_a_cancellation_not_a_confirmation():
    shop = Shop("magento")
    first = order(status="pending")
    shop.feed(first)
    decision = shop.feed(evolve(first, 5, status="canceled"))
    assert shop.sent() == ["order_received", "admin_order_placed", "order_cancelled"]
    change = decision.intents[0].changes[0]
    assert (change.before_meaning, change.after_meaning) == ("pending", "cancelled")


def test_magento_holded_is_received_then_complete_confirms_and_completes():
    shop = Shop("magento")
    first = order(status="holded")
    shop.feed(first)
    shop.feed(evolve(first, 5, status="complete"))
    assert shop.sent() == ["order_received", "admin_order_placed", "order_confirmed", "order_completed"]


def test_woocommerce_completed_and_refunded_send_their_mails():
    shop = Shop("woocommerce")
    first = order(status="processing")
    shop.feed(first)
    done = evolve(first, 5, status="completed")
    shop.feed(done)
    refunded = evolve(done, 9, status="refunded")
    shop.feed(refunded)
    shop.feed(refunded)  # a replay says nothing
    assert shop.sent() == ["order_confirmed", "admin_order_placed", "order_completed", "order_refunded"]
    assert "status_changed" not in [c.rule for c, _ in shop.last.outcomes]


def test_completed_after_the_order_shipped_mail_adds_nothing():
    shop = Shop("woocommerce")
    first = order(status="processing")
    shop.feed(first)
    shipped = evolve(first, 5, shipments=[shipment("s1", {"1": 2}, tracking="1Z9")])
    shop.feed(shipped)
    decision = shop.feed(evolve(shipped, 9, status="completed"))
    assert shop.sent() == ["order_confirmed", "admin_order_placed", "order_shipped"]
    assert [(c.rule, o) for c, o in decision.outcomes] == [("order_completed", SHIPPED_ALREADY)]


def test_new_completed_order_is_confirmed_then_completed():
    shop = Shop("woocommerce")
    shop.feed(order(status="completed"))
    assert shop.sent() == ["order_confirmed", "order_completed", "admin_order_placed"]


def test_partial_refunds_each_send_their_amount_once():
    shop = Shop("shopify")
    first = order(status="paid")
    shop.feed(first)
    one = evolve(first, 5, status="partially_refunded", refunds=[{"id": "r1", "amount": "5.00"}])
    shop.feed(one)
    two = evolve(
        one, 9, refunds=[{"id": "r1", "amount": "5.00"}, {"id": 902, "amount": "7.50", "reason": "damaged"}]
    )
    shop.feed(two)
    shop.feed(two)
    assert shop.keys[2:] == ["order_refunded:10023:refund:r1", "order_refunded:10023:refund:902"]
    assert shop.last.intents == []
    amounts = [c.after for c, o in shop.feed(evolve(two, 20, status="refunded")).outcomes]
    assert shop.keys[-1] == "order_refunded:10023"  # the full refund is its own fact
    assert amounts == ["refunded"]


def test_unmapped_status_is_never_a_confirmation():
    shop = Shop("woocommerce")
    first = order(status="awaiting-pickup")
    shop.feed(first)
    assert shop.sent() == ["admin_order_placed"]
    decision = shop.feed(evolve(first, 5, status="processing"))  # confirmed from unmapped
    assert shop.sent()[-1] == "order_confirmed"
    decision = shop.feed(evolve(first, 9, status="partly-packed"))
    assert shop.sent()[-1] == "order_updated"
    change = decision.intents[0].changes[0]
    assert (change.rule, change.before_meaning, change.after_meaning) == (
        "status_changed",
        "processing",
        "unmapped",
    )


def test_processing_to_unmapped_fires_status_changed_only():
    shop = Shop("magento")
    first = order(status="processing")
    shop.feed(first)
    decision = shop.feed(evolve(first, 5, status="ready_for_pickup"))
    assert [(c.rule, c.after) for c, _ in decision.outcomes] == [("status_changed", "ready_for_pickup")]
    assert shop.sent() == ["order_confirmed", "admin_order_placed", "order_updated"]


def test_a_mapped_custom_status_follows_its_meaning():
    shop = Shop("woocommerce", {"awaiting-shipment": "processing"})
    first = order(status="on-hold")
    shop.feed(first)
    shop.feed(evolve(first, 5, status="awaiting-shipment"))
    assert shop.sent()[-1] == "order_confirmed"


def test_clock_skew_is_noted_and_sends_nothing():
    shop = Shop("generic")
    first = order(status="processing")
    shop.feed(first)
    note = Change("clock_skew", before="2036-01-01T00:00:00+00:00", after="2026-11-20T10:20:00+00:00")
    decision = shop.feed(evolve(first, 5), extra=(note,))
    assert decision.intents == []
    assert [(c.rule, o) for c, o in decision.outcomes] == [("clock_skew", NOTED)]
