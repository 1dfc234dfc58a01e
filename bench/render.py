"""Render + MIME throughput: an order_confirmed e-mail, from order snapshot to the bytes to send.

    .venv/bin/python bench/render.py [--n 4000] [--rounds 10] [--lines 3] [--language en] [--clock cpu]

What compose.compose does once per outbox message: build_context from the order snapshot,
render subject, text and HTML (packaged default template, compiled and CSS-inlined once,
before timing), then the MIME step. Lanes:

* render: build_context + render;
* shopmail render+MIME: the same, then shopmail.domain.mime.build_message;
* render+EmailMessage: the same, then the stdlib as the baseline MIME step (EmailMessage with
  policy=email.policy.SMTP, set_content + add_alternative, quoted-printable as build_message
  writes, as_bytes).

Every message has its own order number, recipient and Message-ID (made before timing). The
work is split into rounds; in each round every lane renders the same messages, in an order
that rotates from round to round, so drift (CPU frequency, other load) hits all lanes alike.
Medians of the per-round figures are printed. Timed by the wall clock, or with ``--clock cpu``
by this process's CPU time, which stays steady on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import gc
import statistics
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from mime import DATE, _std
from render_only import STORE, order
from shopmail.domain.mime import Address, build_message, make_message_id
from shopmail.mail.rendering import Rendered, build_context, render

NOTIFICATION = "order_confirmed"
DOMAIN = "shop.example.com"
FROM = Address("orders@shop.example.com", STORE["from_name"])
REPLY_TO = Address("help@shop.example.com", "Fjord & Fell customer service")
ORDER_URL = "https://shop.example.com/account/orders/{number}?token=q9Xr2"
EXTRA_HEADERS = [("X-Shopmail-Notification", NOTIFICATION)]


class Job:
    """One message: its own order snapshot, recipient and Message-ID."""

    __slots__ = ("message_id", "snapshot", "to")

    def __init__(self, number: int, lines: int) -> None:
        self.snapshot = {**order(lines), "id": str(number), "number": str(number)}
        self.snapshot["customer"] = {**self.snapshot["customer"], "email": f"ana.{number}@example.com"}
        self.to = Address(self.snapshot["customer"]["email"], "Ana Silva")
        self.message_id = make_message_id(DOMAIN)


def rendered(job: Job, language: str) -> Rendered:
    snapshot = job.snapshot
    context = build_context(
        NOTIFICATION,
        language=language,
        store=STORE,
        order=snapshot,
        customer=snapshot["customer"],
        order_url=ORDER_URL.format(number=snapshot["number"]),
    )
    return render(NOTIFICATION, language, context)


def shopmail_mime(job: Job, message: Rendered) -> bytes:
    return build_message(
        message_id=job.message_id,
        from_=FROM,
        to=[job.to],
        subject=message.subject,
        text=message.text,
        html=message.html,
        date=DATE,
        reply_to=REPLY_TO,
        extra_headers=EXTRA_HEADERS,
    )


def stdlib_mime(job: Job, message: Rendered) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Date"] = format_datetime(DATE)
    msg["From"] = _std(FROM)
    msg["To"] = _std(job.to)
    msg["Reply-To"] = _std(REPLY_TO)
    msg["Subject"] = message.subject
    msg["Message-ID"] = job.message_id
    for name, value in EXTRA_HEADERS:
        msg[name] = value
    msg.set_content(message.text, cte="quoted-printable")
    msg.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()


def lanes(language: str) -> dict[str, Callable[[Job], Any]]:
    return {
        "render": lambda job: rendered(job, language),
        "shopmail render+MIME": lambda job: shopmail_mime(job, rendered(job, language)),
        "render+EmailMessage": lambda job: stdlib_mime(job, rendered(job, language)),
    }


def check(job: Job, language: str) -> tuple[Rendered, int, int]:
    """Both MIME lanes must carry the rendered e-mail; returns it and the two sizes on the wire."""
    message = rendered(job, language)
    sizes = []
    for build in (shopmail_mime, stdlib_mime):
        data = build(job, message)
        sizes.append(len(data))
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
        assert text is not None and html is not None, build.__name__
        assert str(parsed["Subject"]) == message.subject, build.__name__
        assert text.get_content().replace("\r\n", "\n") == message.text, build.__name__
        assert html.get_content().replace("\r\n", "\n").rstrip("\n") == message.html.rstrip("\n"), (
            build.__name__
        )
    return message, sizes[0], sizes[1]


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def run(lane: Callable[[Job], Any], jobs: list[Job], clock: Callable[[], float]) -> float:
    """µs per message."""
    gc.collect()
    start = clock()
    for job in jobs:
        lane(job)
    return (clock() - start) / len(jobs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=4000, help="messages per lane, over all rounds (default 4000)"
    )
    parser.add_argument("--rounds", type=int, default=10, help="rounds (default 10)")
    parser.add_argument("--lines", type=int, default=3, help="order lines (default 3)")
    parser.add_argument("--language", default="en", choices=("en", "nb", "de"))
    parser.add_argument("--clock", default="wall", choices=tuple(CLOCKS), help="wall (default) or cpu time")
    args = parser.parse_args()
    per_round = max(1, args.n // args.rounds)

    message, shopmail_size, stdlib_size = check(Job(10000, args.lines), args.language)  # compiles, inlines
    print(
        f"Python {sys.version.split()[0]}; {NOTIFICATION} ({args.language}), {args.lines} order lines: "
        f"subject+text {len((message.subject + message.text).encode()) / 1024:.1f} KB, "
        f"html {len(message.html.encode()) / 1024:.1f} KB; on the wire {shopmail_size / 1024:.1f} KB "
        f"(build_message), {stdlib_size / 1024:.1f} KB (EmailMessage)"
    )
    print(f"{args.rounds} rounds x {per_round} messages per lane, lanes interleaved, {args.clock} clock\n")

    work = lanes(args.language)
    results: dict[str, list[float]] = {name: [] for name in work}
    names = list(work)
    for r in range(args.rounds):
        jobs = [Job(100000 + r * per_round + i, args.lines) for i in range(per_round)]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            results[name].append(run(work[name], jobs, CLOCKS[args.clock]))

    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, us in medians.items():
        spread = f"{min(results[name]):.0f}-{max(results[name]):.0f}"
        print(f"{name:>22}: median {us:7.1f} µs/message  {1e6 / us:7.0f} msgs/s  (rounds {spread} µs)")
    render_us = medians["render"]
    ours, stdlib = medians["shopmail render+MIME"], medians["render+EmailMessage"]
    print(
        f"{'ratio':>22}: shopmail render+MIME is {stdlib / ours:.2f}x the msgs/s of render+EmailMessage"
        f" (MIME step alone, by difference: {ours - render_us:.0f} vs {stdlib - render_us:.0f} µs/message,"
        f" {(stdlib - render_us) / max(ours - render_us, 1e-9):.1f}x)"
    )


if __name__ == "__main__":
    main()
