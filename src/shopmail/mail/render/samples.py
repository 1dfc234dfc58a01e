"""The sample order behind previews and validation: order 10023 with every kind of line, a
shipment, and one change for every order-update rule, in each language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopmail.mail.notifications import DEFAULT_LANGUAGE
from shopmail.mail.notifications import get as get_notification
from shopmail.mail.render.context import build_context
from shopmail.mail.render.formatting import DEFAULT_BRAND_COLOR, _language, _money

_SAMPLE_STORE = {
    "company_name": "Fjord & Fell",
    "company_url": "https://shop.example.com",
    "brand_color": DEFAULT_BRAND_COLOR,
    "default_language": "en",
    "admin_email": "orders@shop.example.com",
    "from_name": "Fjord & Fell",
}
_SAMPLE_WORDS = {
    "en": (
        "Mug",
        "Wool socks",
        "Field guide to Nordic birds (e-book)",
        "Invoiced",
        "Awaiting payment",
        "Cancelled",
    ),
    "nb": (
        "Krus",
        "Ullsokker",
        "Felthåndbok over nordiske fugler (e-bok)",
        "Fakturert",
        "Venter på betaling",
        "Kansellert",
    ),
    "de": (
        "Tasse",
        "Wollsocken",
        "Bestimmungsbuch nordische Vögel (E-Book)",
        "In Rechnung gestellt",
        "Zahlung ausstehend",
        "Storniert",
    ),
}
_SAMPLE_TEXT = {
    "en": {
        "instructions": "Open the file in any e-book reader. The licence key unlocks the bonus maps.",
        "reason": "The mug arrived with a chipped handle.",
        "approved": "Sorry about that! Please send the mug back with the enclosed label; we will send a"
        " new one as soon as it arrives.",
        "denied": "The photos show wear from use, so we cannot accept this return. Please contact us if you"
        " have questions.",
        "thread": "Gift wrapping for order 10023",
        "reply": "Hi Ana, of course! We will wrap the mug and add a card. It costs nothing extra.",
        "question": "Hi, could you gift-wrap the mug? It is a birthday present.",
        "contact_subject": "Wholesale prices",
        "contact": "Hello, we run a café in Bergen and would like to order 50 mugs. Do you offer volume"
        " discounts?",
        "newsletter": "Winter news from Fjord & Fell",
        "newsletter_html": "<h2>New wool socks are in</h2><p>Warm feet all winter: our new merino socks"
        " are knitted in Norway.</p>",
    },
    "nb": {
        "instructions": "Åpne filen i en hvilken som helst e-bokleser. Lisensnøkkelen låser opp"
        " bonuskartene.",
        "reason": "Kruset kom med et skår i hanken.",
        "approved": "Så leit! Send kruset tilbake med den vedlagte etiketten, så sender vi et nytt så snart"
        " det er kommet frem.",
        "denied": "Bildene viser bruksslitasje, så vi kan dessverre ikke ta imot returen. Ta gjerne kontakt"
        " hvis du har spørsmål.",
        "thread": "Gaveinnpakning for bestilling 10023",
        "reply": "Hei Ana, selvsagt! Vi pakker inn kruset og legger ved et kort. Det koster ingenting"
        " ekstra.",
        "question": "Hei, kan dere pakke inn kruset som gave? Det er en bursdagsgave.",
        "contact_subject": "Forhandlerpriser",
        "contact": "Hei, vi driver en kafé i Bergen og vil gjerne bestille 50 krus. Gir dere kvantumsrabatt?",
        "newsletter": "Vinternytt fra Fjord & Fell",
        "newsletter_html": "<h2>Nye ullsokker er på plass</h2><p>Varme føtter hele vinteren: de nye"
        " merinosokkene våre er strikket i Norge.</p>",
    },
    "de": {
        "instructions": "Öffnen Sie die Datei in einem beliebigen E-Book-Reader. Der Lizenzschlüssel schaltet"
        " die Bonuskarten frei.",
        "reason": "Die Tasse kam mit einem abgeschlagenen Henkel an.",
        "approved": "Das tut uns leid! Bitte senden Sie die Tasse mit dem beiliegenden Etikett zurück; wir"
        " schicken Ihnen sofort nach Eingang eine neue.",
        "denied": "Die Fotos zeigen Gebrauchsspuren, daher können wir die Rücksendung leider nicht annehmen."
        " Bei Fragen melden Sie sich gern.",
        "thread": "Geschenkverpackung für Bestellung 10023",
        "reply": "Hallo Ana, sehr gern! Wir verpacken die Tasse als Geschenk und legen eine Karte bei."
        " Das kostet nichts extra.",
        "question": "Hallo, können Sie die Tasse als Geschenk verpacken? Sie ist ein Geburtstagsgeschenk.",
        "contact_subject": "Großhandelspreise",
        "contact": "Hallo, wir betreiben ein Café in Bergen und möchten 50 Tassen bestellen. Gibt es"
        " Mengenrabatt?",
        "newsletter": "Winterneuheiten von Fjord & Fell",
        "newsletter_html": "<h2>Neue Wollsocken sind da</h2><p>Warme Füße den ganzen Winter: Unsere neuen"
        " Merinosocken werden in Norwegen gestrickt.</p>",
    },
}
_SAMPLE_CUSTOM_MESSAGE = {
    "en": "Thank you for shopping with us again, Ana!",
    "nb": "Takk for at du handler hos oss igjen, Ana!",
    "de": "Danke, dass Sie wieder bei uns einkaufen, Ana!",
}
_SAMPLE_CHANGES: tuple[dict[str, Any], ...] = (
    {"rule": "status_changed", "before": "processing", "after": "invoiced", "line": None},
    {"rule": "delivery_note_printed", "before": False, "after": True, "line": None},
    {"rule": "picked", "before": False, "after": True, "line": None},
    {
        "rule": "shipment_number_entered",
        "before": None,
        "after": "1Z999AA10123456784",
        "line": None,
        "shipment": "s1",
    },
    {"rule": "delivered_quantity_changed", "before": 0, "after": 2, "line": "1"},
    {"rule": "expected_delivery_date_changed", "before": "2026-12-03", "after": "2026-12-09", "line": "2"},
    {"rule": "back_in_stock", "before": False, "after": True, "line": "2"},
)


def _sample_order(notification: str, language: str) -> dict[str, Any]:
    mug, socks, book, invoiced, pending, cancelled = _SAMPLE_WORDS.get(
        language, _SAMPLE_WORDS[DEFAULT_LANGUAGE]
    )
    status, label = {
        "order_received": ("pending", pending),
        "order_cancelled": ("cancelled", cancelled),
    }.get(notification, ("invoiced", invoiced))
    address = {
        "first_name": "Ana",
        "last_name": "Silva",
        "address1": "Storgata 12",
        "address2": "3. etasje",
        "postcode": "0155",
        "city": "Oslo",
        "country": "NO",
        "phone": "+47 912 34 567",
    }
    shipments: list[dict[str, Any]] = [
        {
            "id": "s1",
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            "shipped_at": "2026-11-21T14:30:00+00:00",
            "drop_shipper": None,
            "lines": [{"line_id": "1", "quantity": 2}],
        },
    ]
    if notification == "order_shipped":
        shipments.append(
            {
                "id": "s2",
                "carrier": "Posten",
                "tracking_number": "70712345678901234",
                "tracking_url": "https://sporing.posten.no/sporing/70712345678901234",
                "shipped_at": "2026-12-08T09:00:00+00:00",
                "drop_shipper": "Nordic Wool AS",
                "lines": [{"line_id": "2", "quantity": 1}],
            }
        )
    return {
        "id": "10023",
        "number": "10023",
        "created_at": "2026-11-20T10:15:00+00:00",
        "updated_at": "2026-11-21T08:00:00+00:00",
        "status": status,
        "status_label": label,
        "currency": "EUR",
        "customer": _SAMPLE_CUSTOMER,
        "billing_address": address,
        "shipping_address": address,
        "totals": {"subtotal": "42.40", "shipping": "4.95", "tax": "11.84", "total": "59.19"},
        "expected_delivery_date": None,
        "delivery_note_printed": True,
        "picked": True,
        "lines": [
            {
                "id": "1",
                "sku": "MUG-01",
                "name": mug,
                "quantity": 2,
                "unit_price": "10.00",
                "delivered_quantity": 2,
                "backordered": False,
                "expected_delivery_date": None,
                "purchase_order_expected_date": None,
                "download": None,
            },
            {
                "id": "2",
                "sku": "SOCK-W",
                "name": socks,
                "quantity": 1,
                "unit_price": "12.50",
                "delivered_quantity": 1 if notification == "order_shipped" else 0,
                "backordered": True,
                "expected_delivery_date": "2026-12-09",
                "purchase_order_expected_date": "2026-12-03",
                "download": None,
            },
            {
                "id": "3",
                "sku": "EBOOK-7",
                "name": book,
                "quantity": 1,
                "unit_price": "9.90",
                "delivered_quantity": 1,
                "backordered": False,
                "expected_delivery_date": None,
                "purchase_order_expected_date": None,
                "download": {
                    "url": "https://shop.example.com/downloads/d8f3c2",
                    "license_keys": ["NB7Q-4KX2-9PLM-T3WZ"],
                    "instructions": _SAMPLE_TEXT.get(language, _SAMPLE_TEXT[DEFAULT_LANGUAGE])[
                        "instructions"
                    ],
                },
            },
        ],
        "shipments": shipments,
    }


_SAMPLE_CUSTOMER = {
    "id": "c-17",
    "email": "ana@example.com",
    "first_name": "Ana",
    "last_name": "Silva",
    "language": "en",
    "phone": "+47 912 34 567",
    "country": "NO",
}


def _sample_extras(notification: str, language: str) -> dict[str, Any]:
    words = _SAMPLE_TEXT.get(language, _SAMPLE_TEXT[DEFAULT_LANGUAGE])
    base = "https://shop.example.com"
    return {
        "reset_url": f"{base}/account/reset/Mw/c4t-9f2e1b7a",
        "invite_url": f"{base}/account/invite/Mw/c4t-5d8e2a1f",
        "unsubscribe_url": f"{base}/unsubscribe/eyJjIjoiYy0xNyJ9.aZ3x",
        "admin_url": f"{base}/admin/",
        "backorder_choice_urls": {
            "one_shipment": f"{base}/account/orders/10023/backorder?choice=single&token=k7Qp",
            "split_shipments": f"{base}/account/orders/10023/backorder?choice=split&token=k7Qp",
        },
        "rma": {
            "id": "r-42",
            "number": "RMA-1042",
            "status": "denied" if notification == "rma_denied" else "approved",
            "reason": words["reason"],
            "comment": words["denied" if notification == "rma_denied" else "approved"],
            "requested_at": "2026-11-25",
            "lines": [{"line_id": "1", "quantity": 1}],
        },
        "thread": {
            "id": "t-7",
            "subject": words["thread"],
            "url": f"{base}/account/helpdesk/t-7",
            "order_number": "10023",
        },
        "message": {
            "author": "Kari" if notification == "helpdesk_reply" else "Ana Silva",
            "name": "Ola Nordmann" if notification == "admin_contact_message" else "Ana Silva",
            "email": "ola@kafe.example.no" if notification == "admin_contact_message" else "ana@example.com",
            "subject": words["contact_subject"],
            "body": {"helpdesk_reply": words["reply"], "admin_contact_message": words["contact"]}.get(
                notification, words["question"]
            ),
            "order_number": "" if notification == "admin_contact_message" else "10023",
            "date": "2026-11-22",
        },
        "affiliate": {
            "name": "Turglede Blogg",
            "email": "post@turglede.example.no",
            "website": "https://turglede.example.no",
            "company_id": "NO 912 345 678",
            "audience": "Hikers in Norway, 40,000 monthly readers",
        },
        "newsletter": {"subject": words["newsletter"], "html": words["newsletter_html"]},
        "dropshipper": {"name": "Mugs Ltd", "suppliers": ["Mugs Ltd"]},
        "refund": {"id": "r-1", "amount": _money("10.00", "EUR", language), "reason": "", "full": False},
    }


def sample_context(
    notification: str, language: str, store: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A believable context for previews and validation: order 10023 with every kind of line,
    a shipment, and one change for every order-update rule."""
    spec = get_notification(notification)
    language = _language(language)
    order = _sample_order(notification, language) if spec.about_order else None
    shipment = {"order_shipped": "s2", "order_partially_shipped": "s1"}.get(notification)
    return build_context(
        notification,
        language=language,
        store={**_SAMPLE_STORE, **(store or {})},
        order=order,
        customer=_SAMPLE_CUSTOMER,
        changes=_SAMPLE_CHANGES if spec.about_order else (),
        shipment_id=shipment,
        order_url="https://shop.example.com/account/orders/10023?token=q9Xr2",
        extras=_sample_extras(notification, language),
    )
