"""Sync throughput: 100,000 orders ingested once, then a full re-sync with 1 % new and 1 % changed.

    .venv/bin/python bench/sync.py [--orders 100000] [--skip-baseline] [--postgres [URL]]

Each phase runs in its own process (so peak RSS is that phase's own) against a fresh SQLite
database in a temporary data dir, or with ``--postgres`` a fresh PostgreSQL database (on the
server URL given, or on a throwaway cluster the script starts and stops, bench/_pg.py). The baseline does the same re-sync
the naive way: one ORM read and one save per order. Prints wall time, orders/s, peak RSS and
peak anonymous memory (RSS less the database pages SQLite maps, which are the page cache's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _pg

SKUS = [f"SKU-{i:04d}" for i in range(500)]


def make_order(i: int, rng: random.Random, base: dt.datetime) -> dict:
    created = base + dt.timedelta(minutes=i)
    lines = []
    for n in range(rng.randint(1, 4)):
        sku = rng.choice(SKUS)
        lines.append(
            {
                "id": str(n + 1),
                "sku": sku,
                "name": f"Product {sku}",
                "quantity": rng.randint(1, 3),
                "unit_price": f"{rng.randint(5, 200)}.{rng.randint(0, 99):02d}",
                "delivered_quantity": 0,
                "backordered": rng.random() < 0.05,
                "expected_delivery_date": None,
                "purchase_order_expected_date": None,
                "download": None,
            }
        )
    customer = rng.randint(0, 60_000)
    return {
        "id": str(100000 + i),
        "number": str(100000 + i),
        "created_at": created.isoformat(),
        "updated_at": (created + dt.timedelta(minutes=5)).isoformat(),
        "status": rng.choice(["pending", "processing", "processing", "invoiced", "completed"]),
        "status_label": "",
        "currency": "EUR",
        "customer": {
            "id": f"c{customer}",
            "email": f"customer{customer}@example.com",
            "first_name": "Kari",
            "last_name": f"Nordmann {customer}",
            "language": rng.choice(["en", "nb", "de"]),
        },
        "billing_address": {
            "street": f"Storgata {i % 200}",
            "city": "Oslo",
            "postcode": "0155",
            "country": "NO",
        },
        "shipping_address": {
            "street": f"Storgata {i % 200}",
            "city": "Oslo",
            "postcode": "0155",
            "country": "NO",
        },
        "totals": {"subtotal": "100.00", "shipping": "49.00", "tax": "37.25", "total": "186.25"},
        "expected_delivery_date": None,
        "delivery_note_printed": False,
        "picked": False,
        "lines": lines,
        "shipments": [],
    }


def generate(path: Path, count: int) -> None:
    rng = random.Random(42)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    orders = [make_order(i, rng, base) for i in range(count)]
    write_ndjson(path / "initial.ndjson", orders)
    changed = rng.sample(range(count), count // 100)
    for index in changed:
        order = orders[index]
        order["status"] = "invoiced" if order["status"] != "invoiced" else "completed"
        order["picked"] = True
        order["updated_at"] = (
            dt.datetime.fromisoformat(order["updated_at"]) + dt.timedelta(days=1)
        ).isoformat()
    orders += [make_order(count + i, rng, base) for i in range(count // 100)]
    write_ndjson(path / "resync.ndjson", orders)


def write_ndjson(file: Path, orders: list[dict]) -> None:
    with file.open("w") as out:
        for order in orders:
            out.write(json.dumps({"kind": "order", **order}, separators=(",", ":")) + "\n")


class AnonPeak:
    """The phase's peak anonymous memory (``RssAnon``, sampled every 10 ms): peak RSS also counts
    the pages of the database file SQLite reads through mmap (``mmap_size``), which are the
    kernel's page cache, shared and reclaimable, not the process's own."""

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        status = Path("/proc/self/status")
        while not self._stop.wait(0.01):
            for line in status.read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def stop_mb(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, path: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopmail.settings")
    import django

    django.setup()
    from shopmail.flows import ingest
    from shopmail.store import syncfile
    from shopmail.store.models import StoreSettings

    if name == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        settings = StoreSettings.load()
        settings.admin_email = "staff@example.com"
        settings.notify_since = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # the first import sends nothing
        settings.save()
        return
    anon = AnonPeak()
    start, cpu0 = time.perf_counter(), time.process_time()
    if name == "baseline":
        count = naive_resync(path / "resync.ndjson")
        messages = -1
    else:  # exactly what `shopmail sync FILE` does
        doc = syncfile.parse_file(path / f"{name}.ndjson")
        count = len(doc.orders)
        result = ingest.ingest(**doc.lists(), source="bench", listed=ingest.LISTED)
        messages = len(result.messages)
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "phase": name,
                "orders": count,
                "seconds": round(wall, 3),
                "cpu_s": round(time.process_time() - cpu0, 3),
                "orders_per_s": round(count / wall),
                "peak_rss_mb": round(peak_rss_mb()),
                "peak_anon_mb": round(anon.stop_mb()),
                "messages": messages,
            }
        )
    )


def naive_resync(file: Path) -> int:
    """The baseline: a loop with one ORM read and, when different, one save per order."""
    import orjson
    from django.db import transaction

    from shopmail.domain.snapshot import OrderIn
    from shopmail.store.models import Customer, Order

    orders = [orjson.loads(line) for line in file.read_bytes().splitlines() if line]
    with transaction.atomic():
        for raw in orders:
            raw.pop("kind")
            data = OrderIn.model_validate(raw).model_dump(mode="json")
            order = Order.objects.filter(external_id=data["id"]).first()
            if order is not None and order.snapshot == data:
                continue
            customer, _ = Customer.objects.get_or_create(
                external_id=data["customer"]["id"], defaults={"email": data["customer"]["email"]}
            )
            Order.objects.update_or_create(
                external_id=data["id"],
                defaults={
                    "number": data["number"],
                    "customer": customer,
                    "status": data["status"],
                    "created_at": data["created_at"],
                    "updated_at": data["updated_at"],
                    "snapshot": data,
                    "snapshot_hash": "",
                },
            )
    return len(orders)


def run(name: str, path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--dir", str(path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skip-baseline", action="store_true")
    _pg.add_argument(parser)
    parser.add_argument("--phase")
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, Path(args.dir))
        return
    with _pg.server(args.postgres) as server_url:
        bench(args, server_url)


def bench(args: argparse.Namespace, server_url: str) -> None:
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    drops = []
    with tempfile.TemporaryDirectory(prefix="shopmail-bench-") as tmp:
        path = Path(tmp)
        t = time.perf_counter()
        generate(path, args.orders)
        size = (path / "resync.ndjson").stat().st_size / 1e6
        print(
            f"generated {args.orders:,} orders (+1 % new, 1 % changed; re-sync file {size:.0f} MB) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        results = {}
        for label, phases in (("shopmail", ["initial", "resync"]), ("baseline", ["initial", "baseline"])):
            if label == "baseline" and args.skip_baseline:
                continue
            env = {**os.environ, "SHOPMAIL_DATA_DIR": str(path / label)}
            env.pop("DATABASE_URL", None)
            database, drop = _pg.database(server_url, f"shopmail_bench_sync_{label}_{os.getpid()}")
            drops.append(drop)
            if database:
                env["DATABASE_URL"] = database
            run("migrate", path, env)
            for name in phases:
                results[(label, name)] = run(name, path, env)
                r = results[(label, name)]
                print(
                    f"{label:9} {name:9} {r['orders']:>8,} orders {r['seconds']:8.2f} s "
                    f"{r['orders_per_s']:>8,} orders/s  CPU {r['cpu_s']:7.2f} s  peak RSS {r['peak_rss_mb']:>5} MB"
                    f" (anonymous {r['peak_anon_mb']:>4} MB)"
                    + (f"  {r['messages']} messages queued" if r["messages"] >= 0 else "")
                )
        if ("baseline", "baseline") in results:
            ratio = results[("baseline", "baseline")]["seconds"] / results[("shopmail", "resync")]["seconds"]
            print(f"re-sync: shopmail is {ratio:.1f}x faster than the one-save-per-order baseline")
        print(
            f"database: {'PostgreSQL' if server_url else 'SQLite'}; load average at the end "
            f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        )
    for drop in drops:
        drop()


if __name__ == "__main__":
    main()
