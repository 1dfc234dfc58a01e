"""Read models of the support app for the API and the control panel."""

from __future__ import annotations

from typing import Any

from shopmail.store.models import Order
from shopmail.support.models import ReturnRequest
from shopmail.support.returns import rma_dict


def returns_for(order: Order) -> list[dict[str, Any]]:
    """The order's return requests, oldest first, as ``GET /api/v1/orders/{id}`` lists them."""
    return [rma_dict(rma) for rma in ReturnRequest.objects.filter(order=order).order_by("requested_at", "id")]
