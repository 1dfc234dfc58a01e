# Order texts are German on purpose (non-ASCII content); the dashes are real en dashes.
# ruff: noqa: RUF001
"""Benchmark: shopmail.domain.mime.build_message vs. email.message.EmailMessage.

Run with ``.venv/bin/python bench/mime.py [N]`` (default N=20000 messages per
builder).  Both builders render the same ~4.5 KB order confirmation
(multipart/alternative, ~1.5 KB text + ~3 KB HTML, some non-ASCII, UTF-8
quoted-printable) with a different order number and Message-ID per message.
The work is split into rounds that alternate between the builders, so drift
(CPU frequency, other load) hits both equally; the median per-round figure is
reported.
"""

from __future__ import annotations

import email
import email.policy
import gc
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address as StdAddress
from email.message import EmailMessage
from email.utils import format_datetime

from shopmail.domain.mime import Address, build_message, make_message_id

ROUNDS = 10
DATE = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
FROM = Address("bestellung@buecher-shop.example", "Bücher & Söhne Shop")
TO = Address("kunde@example.com", "Jürgen Müller")
REPLY_TO = Address("service@buecher-shop.example", "Kundenservice")
UNSUBSCRIBE = "<https://buecher-shop.example/abmelden?token=3f9a1c0e7b2d4a6f8e1c3b5d7f9a2c4e6b8d0f1a>"

ITEMS = [
    ("Der Zauberberg – Thomas Mann (Taschenbuch)", 1, "14,00 €"),
    ("Schöne neue Welt – Aldous Huxley", 2, "22,00 €"),
    ("Notizbuch „Dünndruck“, A5, liniert", 3, "17,97 €"),
    ("Geschenkgutschein über 25 €", 1, "25,00 €"),
    ("Lesezeichen aus Leder, handgenäht", 2, "11,90 €"),
]


def order_text(order: int) -> str:
    lines = [
        "Hallo Jürgen Müller,",
        "",
        f"vielen Dank für Ihre Bestellung Nr. {order} vom 14.03.2025 bei Bücher & Söhne.",
        "Wir haben Ihre Zahlung erhalten und bereiten den Versand vor.",
        "",
        "Ihre Artikel:",
    ]
    lines += [f"  {qty} × {name:<45} {price:>10}" for name, qty, price in ITEMS]
    lines += [
        "",
        "  Zwischensumme:                                             90,87 €",
        "  Versand (DHL, 2–3 Werktage):                                0,00 €",
        "  Gesamtsumme inkl. 19 % MwSt.:                              90,87 €",
        "",
        "Lieferadresse:",
        "  Jürgen Müller, Königstraße 12, 70173 Stuttgart, Deutschland",
        "",
        "Bitte prüfen Sie die Angaben. Änderungen an Ihrer Bestellung sind möglich, solange",
        "sie noch nicht versandt wurde. Eine Rechnung im PDF-Format erhalten Sie mit der",
        "Versandbestätigung; sie ist außerdem jederzeit in Ihrem Kundenkonto abrufbar.",
        "",
        "Den aktuellen Status Ihrer Sendung finden Sie jederzeit unter",
        f"https://buecher-shop.example/konto/bestellungen/{order}?utm_source=mail&utm_medium=order",
        "",
        "Fragen? Antworten Sie einfach auf diese E-Mail oder rufen Sie uns an:",
        "+49 711 123456 (Mo–Fr 9–18 Uhr).",
        "",
        "Viele Grüße",
        "Ihr Team von Bücher & Söhne",
        "",
        "--",
        "Bücher & Söhne GmbH · Königstraße 12 · 70173 Stuttgart",
        "Geschäftsführer: Max Mustermann · Amtsgericht Stuttgart HRB 123456",
        "",
    ]
    return "\n".join(lines)


def order_html(order: int) -> str:
    rows = "\n".join(
        f'<tr><td style="padding:4px 8px;border-bottom:1px solid #eee">{name}</td>'
        f'<td style="padding:4px 8px;text-align:center">{qty}</td>'
        f'<td style="padding:4px 8px;text-align:right">{price}</td></tr>'
        for name, qty, price in ITEMS
    )
    return f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Bestellbestätigung {order}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;font-family:Helvetica,Arial,sans-serif;color:#222">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4">
<tr><td align="center" style="padding:24px">
<table role="presentation" width="600" cellpadding="0" cellspacing="0"
 style="background:#ffffff;border-radius:6px">
<tr><td style="padding:24px 32px;font-size:22px;font-weight:bold;color:#1a4d8f">Bücher &amp; Söhne</td></tr>
<tr><td style="padding:0 32px 16px;font-size:15px;line-height:1.5">
<p>Hallo Jürgen Müller,</p>
<p>vielen Dank für Ihre Bestellung <strong>Nr. {order}</strong> vom 14.03.2025.
Wir haben Ihre Zahlung erhalten und bereiten den Versand vor.</p>
</td></tr>
<tr><td style="padding:0 32px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="font-size:14px">
<tr><th align="left" style="padding:4px 8px">Artikel</th><th style="padding:4px 8px">Menge</th>
<th align="right" style="padding:4px 8px">Preis</th></tr>
{rows}
<tr><td colspan="2" style="padding:8px;text-align:right">Versand (DHL, 2–3 Werktage)</td>
<td style="padding:8px;text-align:right">0,00 €</td></tr>
<tr><td colspan="2" style="padding:8px;text-align:right;font-weight:bold">Gesamtsumme inkl. 19 % MwSt.</td>
<td style="padding:8px;text-align:right;font-weight:bold">90,87 €</td></tr>
</table></td></tr>
<tr><td style="padding:16px 32px;font-size:15px;line-height:1.5">
<p>Lieferadresse: Jürgen Müller, Königstraße 12, 70173 Stuttgart, Deutschland</p>
<p><a href="https://buecher-shop.example/konto/bestellungen/{order}?utm_source=mail&amp;utm_medium=order"
style="display:inline-block;padding:10px 18px;background:#1a4d8f;color:#fff;text-decoration:none;
border-radius:4px">
Sendung verfolgen</a></p>
<p>Fragen? Antworten Sie einfach auf diese E-Mail oder rufen Sie uns an: +49 711 123456 (Mo–Fr 9–18 Uhr).</p>
<p>Viele Grüße<br>Ihr Team von Bücher &amp; Söhne</p>
</td></tr>
<tr><td style="padding:16px 32px;font-size:12px;color:#777;border-top:1px solid #eee">
Bücher &amp; Söhne GmbH · Königstraße 12 · 70173 Stuttgart · HRB 123456<br>
<a href="https://buecher-shop.example/abmelden" style="color:#777">Abmelden</a></td></tr>
</table></td></tr></table>
</body></html>
"""


def subject(order: int) -> str:
    return f"Ihre Bestellung Nr. {order} bei Bücher & Söhne – Bestätigung"


def customer(order: int) -> Address:
    # A different recipient per message, as in production (no cache hits on To).
    return Address(f"kunde.{order}@example.com", TO.name)


def fast(order: int, message_id: str, text: str, html: str) -> bytes:
    return build_message(
        message_id=message_id,
        from_=FROM,
        to=[customer(order)],
        subject=subject(order),
        text=text,
        html=html,
        date=DATE,
        reply_to=REPLY_TO,
        extra_headers=[("List-Unsubscribe", UNSUBSCRIBE), ("X-Shopmail-Notification", "order-confirmation")],
    )


def _std(address: Address) -> StdAddress:
    return StdAddress(address.name, addr_spec=address.email)


def stdlib(order: int, message_id: str, text: str, html: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Date"] = format_datetime(DATE)
    msg["From"] = _std(FROM)
    msg["To"] = _std(customer(order))
    msg["Reply-To"] = _std(REPLY_TO)
    msg["Subject"] = subject(order)
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = UNSUBSCRIBE
    msg["X-Shopmail-Notification"] = "order-confirmation"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()


def check_output() -> int:
    """Parse both outputs back; build_message must be exact, stdlib deviations are reported."""
    order = 100000
    text, html = order_text(order), order_html(order)
    mid = make_message_id("buecher-shop.example")
    expected = {
        "Subject": subject(order),
        "From": f"{FROM.name} <{FROM.email}>",
        "To": f"{TO.name} <{customer(order).email}>",
        "Message-ID": mid,
        "List-Unsubscribe": UNSUBSCRIBE,
        "text": text,
        "html": html,
    }
    size = 0
    for name, builder in (("build_message", fast), ("EmailMessage", stdlib)):
        data = builder(order, mid, text, html)
        size = max(size, len(data))
        msg = email.message_from_bytes(data, policy=email.policy.default)
        plain = msg.get_body(("plain",))
        rich = msg.get_body(("html",))
        assert plain is not None and rich is not None
        got = {key: str(msg[key]) for key in ("Subject", "From", "To", "Message-ID", "List-Unsubscribe")}
        got["text"] = plain.get_content().replace("\r\n", "\n")
        got["html"] = rich.get_content().replace("\r\n", "\n")
        wrong = {key: got[key] for key in expected if got[key] != expected[key]}
        if name == "build_message":
            assert not wrong, f"build_message output does not parse back: {wrong}"
        for key, value in wrong.items():
            print(f"note: {name} round trip changes {key}: {expected[key]!r} -> {value!r}")
    return size


def run(builder: Callable[[int, str, str, str], bytes], orders: range, ids: list[str]) -> float:
    bodies = [(order_text(o), order_html(o)) for o in orders]
    gc.collect()
    start = time.perf_counter()
    for (text, html), order, mid in zip(bodies, orders, ids, strict=True):
        builder(order, mid, text, html)
    return (time.perf_counter() - start) / len(orders) * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    per_round = max(1, n // ROUNDS)
    size = check_output()
    text, html = order_text(100000), order_html(100000)
    print(
        f"Python {sys.version.split()[0]}; message ~{size} bytes on the wire "
        f"(text {len(text.encode())} B, html {len(html.encode())} B UTF-8); "
        f"{ROUNDS} rounds x {per_round} messages per builder"
    )
    results: dict[str, list[float]] = {"build_message": [], "EmailMessage": []}
    for r in range(ROUNDS):
        orders = range(100000 + r * per_round, 100000 + (r + 1) * per_round)
        ids = [make_message_id("buecher-shop.example") for _ in orders]
        pairs = [("build_message", fast), ("EmailMessage", stdlib)]
        if r % 2:
            pairs.reverse()
        for name, builder in pairs:
            results[name].append(run(builder, orders, ids))
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, us in medians.items():
        spread = f"{min(results[name]):.1f}-{max(results[name]):.1f}"
        print(f"{name:>14}: median {us:8.1f} µs/message  ({1e6 / us:9.0f} messages/s; rounds {spread} µs)")
    print(f"{'speed-up':>14}: {medians['EmailMessage'] / medians['build_message']:.1f}x")


if __name__ == "__main__":
    main()
