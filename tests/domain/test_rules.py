"""Deciding what is sent: switches, folding, notify_since/silent and one message per fact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from factories import evolve, order, shipment
from shopmail.domain.changes import baseline, diff
from shopmail.domain.rules import (
    ALREADY_SENT,
    ALREADY_TOLD,
    NOTIFY_SINCE,
    RULE_OFF,
    SILENT,
    NotifyState,
    Switches,
    decide,
)

ON = Switches()


class Timeline:
    """Feeds snapshots through diff + decide, as ingest does, and records every intent."""

    def __init__(self, switches: Switches = ON):
        self.switches = switches
        self.stored = None
        self.state = NotifyState()
        self.keys: list[str] = []
        self.decisions = []

    def feed(self, snap, suppress=None):
        if self.stored is not None and snap["updated_at"] < self.stored["updated_at"]:
            return None  # stale
        is_new = self.stored is None
        state = NotifyState(told=baseline(snap)) if is_new else self.state
        decision = decide(
            snap["id"],
            diff(self.stored, snap),
            state=state,
            switches=self.switches,
            is_new=is_new,
            suppress=suppress,
        )
        self.state = decision.state
        self.stored = snap
        self.keys.extend(intent.key for intent in decision.intents)
        self.decisions.append(decision)
        return decision

    def notifications(self):
        return [key.split(":")[0] for key in self.keys]


def test_new_pending_order_mails_customer_and_staff():
    t = Timeline()
    t.feed(order(status="pending"))
    assert t.keys == ["order_received:10023", "admin_order_placed:10023"]


def test_same_snapshot_twice_sends_once():
    t = Timeline()
    snap = order(status="processing")
    t.feed(snap)
    t.feed(snap)
    assert t.notifications() == ["order_confirmed", "admin_order_placed"]


def test_stale_snapshot_sends_nothing():
    t = Timeline()
    first = order(status="processing")
    t.feed(evolve(first, 10, status="invoiced"))
    before = list(t.keys)
    assert t.feed(first) is None
    assert t.keys == before


def test_flip_flopping_status_confirms_once():
    t = Timeline()
    snap = order(status="pending")
    for minute, status in enumerate(
        ["pending", "processing", "pending", "processing", "pending", "processing"]
    ):
        snap = evolve(snap, minute, status=status)
        t.feed(snap)
    notes = t.notifications()
    assert notes.count("order_confirmed") == 1
    assert notes.count("order_received") == 1
    # every status here was told once already (pending by order_received): the flips are quiet
    assert notes.count("order_updated") == 0


def test_two_shipments_two_notices_and_repeat_is_quiet():
    t = Timeline()
    snap = order(status="processing")
    snap["lines"].append({"id": "2", "sku": "TEE", "name": "T-shirt", "quantity": 1, "unit_price": "15.00"})
    t.feed(snap)
    one = evolve(snap, 5, shipments=[shipment("s1", {"1": 2})])
    t.feed(one)
    two = evolve(one, 6, shipments=[*one["shipments"], shipment("s2", {"2": 1}, tracking="T2")])
    t.feed(two)
    t.feed(evolve(two, 7, shipments=[shipment("s2", {"2": 1}, tracking="T2")]))  # s1 vanished
    t.feed(evolve(two, 8))  # s1 comes back
    assert t.keys[-2:] == ["order_partially_shipped:10023:s1", "order_shipped:10023:s2"]


def test_tracking_number_added_later_is_told_once():
    t = Timeline()
    snap = order(status="processing")
    t.feed(snap)
    shipped = evolve(snap, 5, shipments=[shipment("s1", {"1": 2}, tracking=None)])
    t.feed(shipped)
    tracked = evolve(shipped, 6, shipments=[shipment("s1", {"1": 2}, tracking="1Z5")])
    decision = t.feed(tracked)
    assert [i.notification for i in decision.intents] == ["order_updated"]
    assert decision.intents[0].changes[0].rule == "shipment_number_entered"
    assert not t.feed(evolve(tracked, 7)).intents


def test_updates_fold_into_the_milestone_of_the_same_ingest():
    t = Timeline()
    snap = order(status="pending", expected_delivery_date="2026-12-03")
    t.feed(snap)
    decision = t.feed(evolve(snap, 5, status="processing", picked=True, expected_delivery_date="2026-12-09"))
    [confirmed, _] = [i for i in decision.intents if i.audience == "customer"] + [None]
    assert confirmed.notification == "order_confirmed"
    assert [c.rule for c in confirmed.changes] == [
        "order_confirmed",
        "picked",
        "expected_delivery_date_changed",
    ]
    assert all(intent.notification != "order_updated" for intent in decision.intents)


def test_several_updates_make_one_order_updated_mail():
    t = Timeline()
    snap = order(status="processing")
    t.feed(snap)
    decision = t.feed(evolve(snap, 5, picked=True, delivery_note_printed=True, status="invoiced"))
    [intent] = decision.intents
    assert intent.notification == "order_updated"
    assert {c.rule for c in intent.changes} == {"status_changed", "picked", "delivery_note_printed"}


def test_switched_off_rule_sends_nothing_and_is_recorded():
    t = Timeline(Switches(rules={"picked": False}))
    snap = order(status="processing")
    t.feed(snap)
    decision = t.feed(evolve(snap, 5, picked=True))
    assert decision.intents == []
    assert [outcome for _, outcome in decision.outcomes] == [RULE_OFF]


def test_switched_off_notification_sends_nothing():
    t = Timeline(Switches(notifications={"order_confirmed": False, "admin_order_placed": False}))
    decision = t.feed(order(status="processing"))
    assert decision.intents == []
    # and switching it on later does not send an old confirmation
    t.switches = ON
    assert t.feed(evolve(t.stored, 5, status="pending")).intents != []
    assert "order_confirmed" not in t.notifications()


def test_notify_since_stores_but_sends_nothing_then_later_changes_notify():
    t = Timeline()
    snap = order(status="processing")
    decision = t.feed(snap, suppress=NOTIFY_SINCE)
    assert decision.intents == []
    assert decision.outcomes[0][1] == NOTIFY_SINCE
    later = t.feed(evolve(snap, 5, picked=True))
    assert [i.notification for i in later.intents] == ["order_updated"]
    # the suppressed confirmation is never sent later
    t.feed(evolve(snap, 6, status="pending"))
    t.feed(evolve(snap, 7, status="processing"))
    assert "order_confirmed" not in t.notifications()


def test_silent_sends_nothing_at_all():
    t = Timeline()
    snap = order(status="pending")
    t.feed(snap, suppress=SILENT)
    t.feed(evolve(snap, 5, status="processing", picked=True), suppress=SILENT)
    assert t.keys == []
    # what a silent sync stored counts as known: replaying it later is quiet
    assert t.feed(evolve(snap, 6, status="processing", picked=True)).intents == []


def test_backorder_choice_offered_once_when_allowed():
    snap = order(status="processing")
    snap["lines"][0]["backordered"] = True
    decision = decide(
        "10023", diff(None, snap), state=NotifyState(), switches=ON, is_new=True, has_backorders=True
    )
    assert "order_backorder_choice" in [i.notification for i in decision.intents]
    off = Switches(allow_backorder_choice=False)
    decision = decide(
        "10023", diff(None, snap), state=NotifyState(), switches=off, is_new=True, has_backorders=True
    )
    assert "order_backorder_choice" not in [i.notification for i in decision.intents]


def test_already_outcomes_are_recorded():
    t = Timeline()
    snap = order(status="pending")
    t.feed(snap)
    t.feed(evolve(snap, 1, status="processing"))
    t.feed(evolve(snap, 2, status="pending"))
    decision = t.feed(evolve(snap, 3, status="processing"))
    assert decision.outcomes == [(decision.outcomes[0][0], ALREADY_TOLD)]
    assert decision.outcomes[0][0].rule == "status_changed"
    assert t.feed(evolve(snap, 4, status="processing")).outcomes == []


def test_shipment_seen_before_is_already_sent():
    t = Timeline()
    snap = order(status="processing", shipments=[shipment("s1", {"1": 2})])
    t.feed(snap)
    gone = evolve(snap, 1, shipments=[])
    t.feed(gone)
    decision = t.feed(evolve(snap, 2))
    assert [outcome for _, outcome in decision.outcomes] == [ALREADY_SENT]


# --- properties ------------------------------------------------------------------------------

statuses = st.sampled_from(["pending", "processing", "invoiced", "completed", "cancelled"])
dates = st.sampled_from([None, "2026-12-01", "2026-12-05", "2026-12-09"])


@st.composite
def snapshots(draw, minute: int):
    snap = order(
        status=draw(statuses),
        minute=minute,
        expected_delivery_date=draw(dates),
        picked=draw(st.booleans()),
        delivery_note_printed=draw(st.booleans()),
    )
    snap["lines"][0]["delivered_quantity"] = draw(st.integers(0, 2))
    shipments = draw(st.lists(st.sampled_from(["s1", "s2", "s3"]), unique=True, max_size=3))
    snap["shipments"] = [
        shipment(s, {"1": 1}, tracking=draw(st.sampled_from([None, "T1", "T2"]))) for s in shipments
    ]
    return snap


@st.composite
def histories(draw):
    size = draw(st.integers(1, 8))
    minutes = sorted(draw(st.lists(st.integers(0, 1000), min_size=size, max_size=size, unique=True)))
    return [draw(snapshots(minute)) for minute in minutes]


@given(snapshots(minute=0))
@settings(max_examples=200, deadline=None)
def test_diffing_a_snapshot_with_itself_yields_nothing(snap):
    assert diff(snap, snap) == []


@given(histories())
@settings(max_examples=300, deadline=None)
def test_replaying_any_history_twice_queues_nothing_new(history):
    t = Timeline()
    for snap in history:
        t.feed(snap)
    first = list(t.keys)
    for snap in history:
        t.feed(snap)
    assert t.keys == first
    assert len(set(first)) == len(first)  # every idempotency key is unique


@given(histories())
@settings(max_examples=200, deadline=None)
def test_milestones_are_announced_at_most_once(history):
    t = Timeline()
    for snap in history:
        t.feed(snap)
    for milestone in ("order_received", "order_confirmed", "order_cancelled", "admin_order_placed"):
        assert t.notifications().count(milestone) <= 1
