"""The raw row writers the worker and ingest use instead of bulk_create/bulk_update."""

from __future__ import annotations

import datetime as dt

import pytest

from shopmail.db import COPY_FROM, db_value, fast_create, fast_update, insert_rows, raw_rows, with_pks
from shopmail.mail.models import Attempt, Message

pytestmark = pytest.mark.django_db


def messages(n: int) -> list[Message]:
    return Message.objects.bulk_create(
        Message(key=f"k{i}", notification="order_confirmed", to_email=f"c{i}@example.com") for i in range(n)
    )


@pytest.mark.parametrize("count", [1, 200, 451])  # one statement, exactly full, several with a rest
def test_insert_rows_writes_every_row_with_its_values(count):
    [message] = messages(1)
    at = dt.datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=dt.UTC)
    rows = [
        (message.pk, db_value(Attempt, "at", at), "sent", 250 + i % 2, f"reply {i} 'q' %s", "w")
        for i in range(count)
    ]

    insert_rows(Attempt, ["message", "at", "outcome", "code", "reply", "worker"], rows)

    stored = list(
        Attempt.objects.order_by("id").values_list("message_id", "at", "outcome", "code", "reply", "worker")
    )
    assert stored == [(message.pk, at, "sent", 250 + i % 2, f"reply {i} 'q' %s", "w") for i in range(count)]


def test_insert_rows_with_nothing_does_nothing():
    insert_rows(Attempt, ["message", "at"], [])
    assert Attempt.objects.count() == 0


def test_fast_update_and_with_pks_touch_only_the_given_rows():
    rows = messages(5)
    for message in rows[:3]:
        message.last_error = f"e{message.pk}"
    fast_update(rows[:3], ["last_error"])
    chosen = with_pks(Message.objects.all(), [rows[0].pk, rows[2].pk, rows[4].pk])
    assert sorted(chosen.values_list("pk", flat=True)) == [rows[0].pk, rows[2].pk, rows[4].pk]
    assert dict(Message.objects.values_list("pk", "last_error")) == {
        m.pk: (f"e{m.pk}" if i < 3 else "") for i, m in enumerate(rows)
    }
    assert with_pks(Message.objects.all(), []).count() == 0


def test_raw_rows_are_the_rows_of_the_queryset_in_its_order_and_sort_like_the_values():
    made = messages(5)
    base = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    for i, message in enumerate(made):  # due times out of id order, one with microseconds
        Message.objects.filter(pk=message.pk).update(
            due_at=base + dt.timedelta(minutes=(3 * i) % 5, microseconds=i)
        )
    query = Message.objects.order_by("due_at", "id").values_list("pk", "due_at")

    raw = raw_rows(query[:4])
    parsed = list(query[:4])

    assert [pk for pk, _ in raw] == [pk for pk, _ in parsed]  # same rows, same order, LIMIT kept
    assert sorted(raw, key=lambda row: row[1]) == raw  # the raw due times sort as the times do
    assert all(isinstance(row, tuple) for row in raw)


def test_fast_create_stores_what_bulk_create_stores_and_sets_the_keys():
    from shopmail.store.models import Customer, Order

    at = dt.datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=dt.UTC)
    people = [
        Customer(external_id=f"c{i}", email=f"c{i}@x.com", first_name="Ünï 'q' %s", data={"k": [i, "ø"]})
        for i in range(451)  # several statements, with a rest
    ]
    from shopmail.db import fast_create

    fast_create(people)
    assert all(person.pk for person in people) and len({person.pk for person in people}) == 451
    stored = {c.pk: c for c in Customer.objects.all()}
    for person in people:
        number = int(person.external_id[1:])
        row = stored[person.pk]
        assert (row.external_id, row.data) == (person.external_id, {"k": [number, "ø"]})
        assert stored[person.pk].first_name == "Ünï 'q' %s"
    orders = [
        Order(
            external_id=f"o{i}",
            customer=people[i],
            status="processing",
            created_at=at,
            updated_at=at + dt.timedelta(minutes=i),
            snapshot={"id": f"o{i}", "lines": [{"sku": "A", "quantity": 2}], "note": None},
            snapshot_hash="h" * 32,
        )
        for i in range(3)
    ]
    fast_create(orders)
    twin = Order(
        external_id="twin", customer=people[0], status="processing", created_at=at, updated_at=at,
        snapshot=orders[0].snapshot, snapshot_hash="h" * 32,
    )  # fmt: skip
    Order.objects.bulk_create([twin])
    by_id = {o.external_id: o for o in Order.objects.all()}
    for i, made in enumerate(orders):
        stored_order = by_id[f"o{i}"]
        assert stored_order.pk == made.pk and stored_order.customer_id == people[i].pk
        assert stored_order.updated_at == at + dt.timedelta(minutes=i) and stored_order.created_at == at
        assert stored_order.snapshot == made.snapshot and stored_order.notify_state == {}
        assert stored_order.stored_at is not None  # auto_now is applied
    assert by_id["o0"].snapshot == by_id["twin"].snapshot
    assert Order.objects.filter(snapshot__lines__0__sku="A").count() == 4  # JSON lookups see both the same


def test_fast_create_with_nothing_does_nothing():
    from shopmail.db import fast_create

    fast_create([])


def test_fast_create_refuses_an_unsaved_related_object_as_bulk_create_does():
    from shopmail.db import fast_create
    from shopmail.store.models import Customer, Order

    unsaved = Customer(external_id="c-new", email="new@example.com")
    at = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    order = Order(external_id="o", customer=unsaved, status="processing", created_at=at, updated_at=at,
                  snapshot={}, snapshot_hash="h" * 32)  # fmt: skip
    with pytest.raises(ValueError, match="unsaved Customer"):
        fast_create([order])
    assert Order.objects.count() == 0


def test_values_in_reads_the_columns_of_rows_whose_key_is_listed_in_chunks_with_equal_filters():
    from shopmail.db import values_in
    from shopmail.store.models import Product

    Product.objects.bulk_create(
        [Product(sku=f"S{i}", name=f"P{i}", stock_quantity=i % 3) for i in range(2500)]
    )
    rows = values_in(Product, ["sku", "name"], "sku", [f"S{i}" for i in range(2500)] + ["nope", "S1"])
    assert len(rows) == 2500 and ("S2499", "P2499") in rows  # two chunks of keys, a repeated key once
    low = values_in(Product, ["sku"], "sku", ["S0", "S1", "S2", "S3"], stock_quantity=1)
    assert sorted(low) == [("S1",)]
    assert values_in(Product, ["sku"], "sku", []) == []
    odd = ['S{1,"2"}', "back\\slash", "it's", "NULL", "a b"]  # an array literal's own characters
    Product.objects.bulk_create([Product(sku=sku, name=sku) for sku in odd])
    assert sorted(values_in(Product, ["name"], "sku", odd)) == sorted((sku,) for sku in odd)
    pks = list(Product.objects.filter(sku__in=odd).values_list("pk", flat=True))
    assert sorted(values_in(Product, ["sku"], "pk", pks)) == sorted((sku,) for sku in odd)  # integer keys


def _fields(obj):
    return {name: value for name, value in vars(obj).items() if name != "_state"}


def test_build_makes_the_instance_the_constructor_makes_defaults_and_relations_included():
    from shopmail.db import build
    from shopmail.mail.models import Payload
    from shopmail.store.models import Customer, Order

    customer = Customer.objects.create(external_id="c1", email="c1@example.com")
    values = {
        "external_id": "1001",
        "number": "1001",
        "customer": customer,
        "status": "processing",
        "created_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        "snapshot": {"id": "1001"},
        "snapshot_hash": "h",
    }
    built, made = build(Order, **values), Order(**values)
    assert _fields(built) == _fields(made)  # every default, the foreign key's id
    assert built.customer is customer and built._state.adding and built._state.db is None
    # a callable default is called per instance, never shared
    assert built.notify_state == {} and build(Order, **values).notify_state is not built.notify_state
    by_id = build(Order, **{**values, "customer": None, "customer_id": customer.pk})
    assert by_id.customer_id == customer.pk and by_id.customer == customer
    [message] = messages(1)
    payload = build(Payload, message=message, language="nb", context={"a": 1})
    assert _fields(payload) == _fields(Payload(message=message, language="nb", context={"a": 1}))
    assert payload.message is message


def test_build_refuses_a_name_that_is_not_a_field_as_the_constructor_does():
    from shopmail.db import build
    from shopmail.store.models import Customer

    with pytest.raises(TypeError, match="emial"):
        build(Customer, external_id="c1", emial="c1@example.com")
    with pytest.raises(TypeError):
        Customer(external_id="c1", emial="c1@example.com")


def test_build_and_fast_create_store_the_rows_the_constructor_would():
    from shopmail.db import build, fast_create
    from shopmail.store.models import Customer

    built = [build(Customer, external_id=f"c{i}", email=f"c{i}@example.com", data={"i": i}) for i in range(3)]
    fast_create(built)
    stored = Customer.objects.order_by("external_id")
    assert [(c.pk, c.email, c.data, c.newsletter_opt_in) for c in stored] == [
        (b.pk, b.email, {"i": i}, False) for i, b in enumerate(built)
    ]
    assert not built[0]._state.adding


def test_instances_are_the_instances_the_orm_loads():
    from django.db import connection

    from shopmail.db import instances, select_list, table

    made = messages(2)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select_list(Message, 't')} FROM {table(Message)} t ORDER BY t.id")
        loaded = instances(Message, cursor.fetchall())
    orm = list(Message.objects.order_by("id"))
    assert [_fields(m) for m in loaded] == [_fields(m) for m in orm]
    assert [m.pk for m in loaded] == [m.pk for m in made]
    assert all(not m._state.adding and m._state.db == "default" for m in loaded)
    loaded[0].status = "sent"
    loaded[0].save(update_fields=["status"])  # an instance the ORM can save
    assert Message.objects.get(pk=made[0].pk).status == "sent"


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC),  # no microseconds: the shorter text
        dt.datetime(2026, 11, 23, 14, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_fast_create_and_fast_update_store_times_as_the_orm_does_in_any_zone(at):
    from django.db import connection

    from shopmail.db import fast_create

    made = [Message(key="fast", notification="order_confirmed", to_email="a@example.com", due_at=at)]
    fast_create(made)
    Message.objects.create(key="orm", notification="order_confirmed", to_email="b@example.com", due_at=at)
    raw = dict(raw_rows(Message.objects.values_list("key", "due_at")))
    assert raw["fast"] == raw["orm"]  # the same stored text (SQLite) or time (PostgreSQL)
    assert Message.objects.filter(due_at=at).count() == 2  # and the ORM finds both by it
    later = at + dt.timedelta(hours=1)
    made[0].due_at = later
    fast_update(made, ["due_at"])
    Message.objects.filter(key="orm").update(due_at=later)
    raw = dict(raw_rows(Message.objects.values_list("key", "due_at")))
    assert raw["fast"] == raw["orm"] and connection.vendor in ("sqlite", "postgresql")


def customers(n: int) -> list:
    from shopmail.store.models import Customer

    return Customer.objects.bulk_create(
        Customer(external_id=f"c{i}", email=f"c{i}@example.com", registered_at=None) for i in range(n)
    )


@pytest.mark.parametrize("count", [1, 2001])  # one row; more rows than one executemany batch (2,000)
def test_fast_update_writes_every_kind_of_value_of_every_row(count):
    from shopmail.store.models import Customer

    made = customers(count)
    at = dt.datetime(2026, 12, 7, 15, 0, 1, 250000, tzinfo=dt.UTC)
    for i, customer in enumerate(made):
        customer.email = f"new{i}@example.com"
        customer.newsletter_opt_in = i % 2 == 0
        customer.newsletter_opt_in_at = at + dt.timedelta(seconds=i) if i % 3 else None
        customer.data = {"i": i, "tags": ["a", "ø"], "nested": {"none": None}} if i % 4 else {}
    fields = ["email", "newsletter_opt_in", "newsletter_opt_in_at", "data"]

    fast_update(made, fields)

    stored = {row[0]: row[1:] for row in Customer.objects.values_list("pk", *fields)}
    assert stored == {c.pk: (c.email, c.newsletter_opt_in, c.newsletter_opt_in_at, c.data) for c in made}


def test_fast_update_of_a_row_given_twice_keeps_its_last_values():
    from shopmail.store.models import Customer

    first, other = customers(2)
    again = Customer.objects.get(pk=first.pk)
    first.email, again.email, other.email = "early@example.com", "late@example.com", "other@example.com"
    fast_update([first, other, again], ["email"])
    assert dict(Customer.objects.values_list("pk", "email")) == {
        first.pk: "late@example.com",
        other.pk: "other@example.com",
    }


def test_fast_update_never_cuts_a_value_longer_than_its_column():
    from django.db import DataError, connection, transaction

    from shopmail.store.models import Customer

    [customer] = customers(1)
    customer.country = "NOR"  # a two-character column
    if connection.vendor == "postgresql":  # refused as the ORM's UPDATE is, not cut to "NO"
        with pytest.raises(DataError), transaction.atomic():
            fast_update([customer], ["country"])
        assert Customer.objects.get().country == ""
    else:  # SQLite does not enforce the length: kept whole, as the ORM would keep it
        fast_update([customer], ["country"])
        assert Customer.objects.get().country == "NOR"


@pytest.mark.parametrize("count", [COPY_FROM - 1, COPY_FROM])  # INSERT ... VALUES, and COPY on PostgreSQL
def test_many_rows_keep_every_awkward_value_as_the_orm_reads_it(count):
    from shopmail.store.models import Customer

    awkward = ["tab\there", "line\nbreak\r\n", "back\\slash", "\\N", "", "'; DROP TABLE x; --", "ø €"]
    people = [
        Customer(
            external_id=f"c{i}",
            email=f"c{i}@x.com",
            first_name=awkward[i % len(awkward)],
            data={"text": awkward[i % len(awkward)], "none": None},
            registered_at=None if i % 2 else dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        )
        for i in range(count)
    ]
    fast_create(people)
    stored = {c.pk: c for c in Customer.objects.all()}
    assert sorted(stored) == sorted(p.pk for p in people)
    for person in people:
        row = stored[person.pk]
        assert (row.first_name, row.data, row.registered_at) == (
            person.first_name,
            person.data,
            person.registered_at,
        )
    [message] = messages(1)
    at = db_value(Attempt, "at", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    rows = [(message.pk, at, "sent", None, awkward[i % 7], "w") for i in range(count)]
    insert_rows(Attempt, ["message", "at", "outcome", "code", "reply", "worker"], rows)
    assert sorted(Attempt.objects.values_list("reply", flat=True)) == sorted(row[4] for row in rows)
    assert set(Attempt.objects.values_list("code", flat=True)) == {None}


def test_a_duplicate_among_many_new_rows_raises_djangos_integrity_error_and_writes_none():
    from django.db import IntegrityError, transaction

    from shopmail.store.models import Customer

    Customer.objects.create(external_id="c7", email="c7@x.com")
    people = [Customer(external_id=f"c{i}", email=f"c{i}@x.com") for i in range(COPY_FROM * 2)]
    with pytest.raises(IntegrityError), transaction.atomic():
        fast_create(people)
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["c7"]


@pytest.mark.parametrize("count", [COPY_FROM - 1, COPY_FROM])
def test_a_value_that_cannot_be_converted_leaves_the_transaction_usable_and_no_keys_set(count):
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from shopmail.store.models import Customer

    people = [Customer(external_id=f"c{i}", email=f"c{i}@x.com") for i in range(count)]
    people[-1].registered_at = "not a time"
    with transaction.atomic():
        with pytest.raises(ValidationError):
            fast_create(people)
        assert Customer.objects.count() == 0  # the transaction still answers
    assert all(person.pk is None for person in people)
