"""``shopmail demo``: fill an empty database with a demo store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shopmail.flows import ingest
from shopmail.store import demo
from shopmail.store.models import Order, StoreSettings


class Command(BaseCommand):
    help = "Fill an empty database with a demo store, customers and orders to click through."

    def handle(self, *args: Any, **options: Any) -> None:
        if Order.objects.exists():
            raise CommandError("the database already has orders; the demo only fills an empty store")
        settings = StoreSettings.load()
        settings.company_name = "Nordlys Home"
        settings.company_url = "https://nordlys-home.example.com"
        settings.admin_email = settings.admin_email or "orders@nordlys-home.example.com"
        settings.from_email = "hello@nordlys-home.example.com"
        settings.from_name = "Nordlys Home"
        # the demo orders are from the last two days: let them notify, so the message log has mail
        settings.notify_since = timezone.now() - dt.timedelta(days=7)
        settings.save()
        data = demo.build()
        result = ingest.ingest(
            orders=data["orders"], products=data["products"], customers=data["customers"], source="cli"
        )
        # then a day in the life: the back-ordered T-shirts come in
        restock = ingest.ingest(
            products=[{"sku": "TEE-BLK-M", "name": "Organic T-shirt, black, M", "stock_quantity": 25}],
            source="cli",
        )
        counts = result.counts
        self.stdout.write(
            f"Demo store ready: {counts['customers'].new} customers, {counts['products'].new} products, "
            f"{counts['orders'].new} orders, {Order.objects.count()} stored; "
            f"{len(result.messages) + len(restock.messages)} e-mails queued."
        )
