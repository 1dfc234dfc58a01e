"""Ingest, step 2: create or update the customers and products a run carries.

Rows are read (and locked where the database can) in chunks, new ones written with one bulk
insert, changed ones with one ``fast_update``. Nothing here decides about e-mail: a product
upsert only reports which SKUs came back in stock, for the plan to tell the waiting orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.utils import timezone

from shopmail import db
from shopmail.db import build, fast_create, fast_update
from shopmail.domain import changes as changes_mod
from shopmail.flows.ingest.collect import content_hash
from shopmail.flows.ingest.result import CHUNK, Counts, Item
from shopmail.newsletter import consent
from shopmail.store.models import Customer, Product


def fetch(model: Any, field_name: str, keys: Iterable[str], lock: bool) -> dict[str, Any]:
    """The stored rows whose ``field_name`` is one of ``keys``, by that field (locked ``FOR
    UPDATE`` where the database has it). The SELECT is written from the model's metadata: built
    through the ORM it cost more than the database took to answer (``db.instances``)."""
    keys = list(dict.fromkeys(keys))
    found: dict[str, Any] = {}
    if not keys:
        return found
    # identifiers come from the model's own metadata, the keys are parameters
    head = f"SELECT {db.select_list(model, 't')} FROM {db.table(model)} t "
    head += f"WHERE t.{db.column(model, field_name)} IN "
    tail = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        for start in range(0, len(keys), CHUNK):
            part = keys[start : start + CHUNK]
            cursor.execute(head + "(" + ", ".join(["%s"] * len(part)) + ")" + tail, part)
            found.update((getattr(obj, field_name), obj) for obj in db.instances(model, cursor.fetchall()))
    return found


def _customer_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "email": data["email"],
        "first_name": data.get("first_name") or "",
        "last_name": data.get("last_name") or "",
        "language": (data.get("language") or "")[:8],
        "country": (data.get("country") or "").upper(),
        "newsletter_opt_in": bool(data.get("newsletter_opt_in")),
        "newsletter_opt_in_at": data.get("newsletter_opt_in_at"),
        "registered_at": data.get("created_at"),
        "data": dict(data),
        "data_hash": content_hash(data),
    }


_CUSTOMER_FIELDS = tuple(
    _customer_fields({"email": "", "created_at": None}).keys()  # the columns an upsert writes
)


def upsert_customers(datas: Iterable[Mapping[str, Any]], counts: Counts | None = None) -> dict[str, Customer]:
    """Create or update customers (last one wins for a repeated id); returns them by id."""
    latest = {data["id"]: data for data in datas}
    existing = fetch(Customer, "external_id", latest, lock=True)
    new, changed = [], []
    opted_out: list[int] = []  # the shop says they no longer want newsletters
    arrived = timezone.now()
    for key, data in latest.items():
        fields = _customer_fields(data)
        customer = existing.get(key)
        if customer is not None and data.get("newsletter_opt_in") is None:
            # data that says nothing of consent (a WooCommerce order) leaves it as it is
            fields["newsletter_opt_in"] = customer.newsletter_opt_in
            fields["newsletter_opt_in_at"] = customer.newsletter_opt_in_at
        elif fields["newsletter_opt_in"] and not fields["newsletter_opt_in_at"]:
            # SPEC 3: the time it arrived when the shop sends none (newsletters count consent from
            # it); a customer who was out (unsubscribed) stays out until the shop names a time
            if customer is None:
                fields["newsletter_opt_in_at"] = arrived
            elif customer.newsletter_opt_in:
                fields["newsletter_opt_in_at"] = customer.newsletter_opt_in_at or arrived
        if customer is None:
            customer = build(Customer, external_id=key, **fields)
            new.append(customer)
            existing[key] = customer
        elif customer.data_hash != fields["data_hash"]:
            if customer.newsletter_opt_in and not fields["newsletter_opt_in"]:
                opted_out.append(customer.pk)
            for name, value in fields.items():
                setattr(customer, name, value)
            changed.append(customer)
    if counts is not None:
        counts.new += len(new)
        counts.changed += len(changed)
    fast_create(new)
    now = timezone.now()
    for customer in changed:
        customer.updated_at = now
    fast_update(changed, [*_CUSTOMER_FIELDS, "updated_at"])
    consent.cancel_waiting(opted_out, "the customer unsubscribed (in the shop)")
    return existing


def upsert_products(items: list[Item], counts: Counts) -> dict[str, str]:
    """Create or update products; returns the SKUs that came back in stock, with their names."""
    existing = fetch(Product, "sku", (item.key for item in items), lock=True)
    restocked: dict[str, str] = {}
    new, changed = [], []
    for item in items:
        data = item.data
        assert data is not None
        product = existing.get(item.key)
        fields = {
            "name": data.get("name") or "",
            "stock_quantity": data["stock_quantity"],
            "download_instructions": data.get("download_instructions") or "",
            "data": data,
        }
        if product is None:
            counts.new += 1
            new.append(Product(sku=item.key, **fields))
            continue
        if product.data == data:
            counts.unchanged += 1
            continue
        counts.changed += 1
        if changes_mod.restocked(product.stock_quantity, data["stock_quantity"]):
            product.restocks += 1
            restocked[item.key] = fields["name"]
        for name, value in fields.items():
            setattr(product, name, value)
        changed.append(product)
    fast_create(new)
    fast_update(changed, ["name", "stock_quantity", "download_instructions", "data", "restocks"])
    return restocked
