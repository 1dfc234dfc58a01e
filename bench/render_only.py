"""Rendering throughput: one order_confirmed e-mail (subject, text and HTML) rendered N times.

    .venv/bin/python bench/render_only.py [--n 2000] [--language en]

The order has enough lines for a text part of about 4 KB. The context is built once with
build_context (as the outbox does once per message), then rendered N times from the compiled
template cache; a second figure includes building the context each time. Templates are
compiled (and their CSS inlined) once, before timing.
"""

from __future__ import annotations

import argparse
import time

from shopmail.mail.rendering import build_context, render

STORE = {
    "company_name": "Fjord & Fell",
    "company_url": "https://shop.example.com",
    "brand_color": "#1f6feb",
    "default_language": "en",
    "admin_email": "orders@shop.example.com",
    "from_name": "Fjord & Fell",
}
ADDRESS = {
    "first_name": "Ana",
    "last_name": "Silva",
    "address1": "Storgata 12",
    "postcode": "0155",
    "city": "Oslo",
    "country": "NO",
}


def order(lines: int) -> dict:
    return {
        "id": "10023",
        "number": "10023",
        "created_at": "2026-11-20T10:15:00+00:00",
        "updated_at": "2026-11-21T08:00:00+00:00",
        "status": "processing",
        "status_label": "Processing",
        "currency": "EUR",
        "customer": {"id": "c-17", "email": "ana@example.com", "first_name": "Ana", "last_name": "Silva"},
        "billing_address": ADDRESS,
        "shipping_address": ADDRESS,
        "totals": {"subtotal": "200.00", "shipping": "4.95", "tax": "51.24", "total": "256.19"},
        "lines": [
            {
                "id": str(i),
                "sku": f"SKU-{i:03}",
                "name": f"Product number {i}",
                "quantity": 1 + i % 3,
                "unit_price": f"{5 + i}.50",
                "delivered_quantity": 0,
                "backordered": i % 5 == 0,
                "expected_delivery_date": "2026-12-09" if i % 5 == 0 else None,
                "download": {
                    "url": f"https://shop.example.com/d/{i}",
                    "license_keys": [f"KEY-{i:04}"],
                    "instructions": "Open the file in any reader.",
                }
                if i == 1
                else None,
            }
            for i in range(1, lines + 1)
        ],
        "shipments": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="messages to render (default 2000)")
    parser.add_argument("--lines", type=int, default=24, help="order lines (default 24: a ~4 KB text part)")
    parser.add_argument("--language", default="en", choices=("en", "nb", "de"))
    args = parser.parse_args()

    snapshot = order(args.lines)

    def context() -> dict:
        return build_context(
            "order_confirmed",
            language=args.language,
            store=STORE,
            order=snapshot,
            customer=snapshot["customer"],
            custom_message="",
            order_url="https://shop.example.com/account/orders/10023?token=t",
        )

    ctx = context()
    first = render("order_confirmed", args.language, ctx)  # compiles and inlines once
    size = len((first.subject + first.text).encode())
    print(f"message: subject+text {size / 1024:.1f} KB, html {len(first.html.encode()) / 1024:.1f} KB")

    start = time.perf_counter()
    for _ in range(args.n):
        render("order_confirmed", args.language, ctx)
    render_only = (time.perf_counter() - start) / args.n

    start = time.perf_counter()
    for _ in range(args.n):
        render("order_confirmed", args.language, context())
    with_context = (time.perf_counter() - start) / args.n

    print(f"render only:          {render_only * 1e6:8.0f} µs/message  {1 / render_only:8.0f} messages/s")
    print(f"build_context+render: {with_context * 1e6:8.0f} µs/message  {1 / with_context:8.0f} messages/s")


if __name__ == "__main__":
    main()
