"""Benchmark: DKIM signing with shopmail.domain.dkim (OpenSSL) vs. dkimpy's ``dkim.sign`` (the baseline).

Run with ``.venv/bin/python bench/dkim_sign.py [N]`` (default N=300 messages per signer). Both sign the
same ~4.5 KB multipart order e-mail built by domain.mime, with one 2048-bit RSA key, over the same
headers; rounds alternate between the signers so drift hits both; the median round is reported,
and each signature made here is verified by dkimpy once.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

import dkim as dkimpy

from shopmail.domain import dkim
from shopmail.domain.mime import Address, build_message

ROUNDS = 6


def message(n: int) -> bytes:
    text = "Thank you for your order.\n" + "2 x Merino socks, size 42 .......... NOK 349.00\n" * 30
    return build_message(
        message_id=f"<{n}.bench@shop.example>",
        from_=Address("orders@shop.example", "Fjellsko AS"),
        to=[Address("kari@example.org", "Kari Nordmann")],
        subject=f"Order {n} is confirmed",
        text=text,
        html="<table>" + "<tr><td>Merino socks</td><td>NOK 349.00</td></tr>" * 40 + "</table>",
        date=datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    pem = dkim.generate_key(2048)
    signer = dkim.Signer.from_pem("shop.example", "bench", pem)
    record = signer.dns_record().encode()
    heads = [name.encode() for name in dkim.SIGNED_HEADERS[:7]]
    raw = message(1)
    ours = signer.sign(raw)
    theirs = dkimpy.sign(raw, b"bench", b"shop.example", pem.encode(), include_headers=heads)
    for signed in (ours, theirs + raw):
        assert dkimpy.verify(signed, dnsfunc=lambda name, timeout=5: record)
    per_round = max(1, n // ROUNDS)
    timings: dict[str, list[float]] = {"dkimpy (baseline)": [], "shopmail": []}
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(per_round):
            dkimpy.sign(raw, b"bench", b"shop.example", pem.encode(), include_headers=heads)
        timings["dkimpy (baseline)"].append((time.perf_counter() - start) / per_round)
        start = time.perf_counter()
        for _ in range(per_round):
            signer.sign(raw)
        timings["shopmail"].append((time.perf_counter() - start) / per_round)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"message size {len(raw)} bytes, {per_round} signatures per round, {ROUNDS} rounds (median)")
    for name, value in medians.items():
        print(f"  {name:<18} {value * 1000:7.3f} ms per message")
    print(f"  speed-up: {medians['dkimpy (baseline)'] / medians['shopmail']:.1f}x")


if __name__ == "__main__":
    main()
