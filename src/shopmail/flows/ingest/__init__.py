"""Ingest (orders, products, customers; the API, sync files, pulls, webhooks, staff actions).

One run in four steps, a module each: ``collect`` (parse and validate the body), ``upsert``
(customers, products), ``plan`` (what changed, via ``domain.changes``, and what the rules
decide) and ``apply`` (orders, history, e-mails), driven by ``run`` in one transaction. The
names other layers use are re-exported here.
"""

from shopmail.core.errors import Rejected
from shopmail.flows.ingest.collect import content_hash
from shopmail.flows.ingest.plan import CLOCK_SKEW, OWN_SHIPMENT, keep_own_shipments
from shopmail.flows.ingest.result import KINDS, LISTED, Counts, Item, Progress, RunResult, empty_entry
from shopmail.flows.ingest.run import ingest, ingest_order
from shopmail.flows.ingest.upsert import upsert_customers

__all__ = [
    "CLOCK_SKEW",
    "KINDS",
    "LISTED",
    "OWN_SHIPMENT",
    "Counts",
    "Item",
    "Progress",
    "Rejected",
    "RunResult",
    "content_hash",
    "empty_entry",
    "ingest",
    "ingest_order",
    "keep_own_shipments",
    "upsert_customers",
]
