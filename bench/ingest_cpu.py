"""CPU per new-order ingest run in one process, without the web stack, for A/B of small changes.

    PYTHONPATH=<src> .venv/bin/python bench/ingest_cpu.py [--orders 100] [--warm 30]

``flows.ingest.ingest(orders=[one new order])`` as ``PUT /api/v1/orders/{id}`` calls it (SQLite in
a temporary data dir, the store settings of ``bench/ingest.py``, both e-mails queued: the worker
composes them, ADR 0012), repeated ``--orders`` times after ``--warm`` warm-up runs; prints CPU
ms per order (``time.process_time``) and wall ms. A change of 5 % does not show in single ``bench/ingest.py`` lanes on a shared
machine; run this for the code before and after (``PYTHONPATH``) several times, alternating, and
compare the pairs (docs/benchmarks.md, "Round two").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100, help="measured runs, one new order each")
    parser.add_argument("--warm", type=int, default=30, help="warm-up runs (imports, caches)")
    args = parser.parse_args()
    os.environ["SHOPMAIL_DATA_DIR"] = tempfile.mkdtemp(prefix="shopmail-bench-ingest-cpu-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopmail.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from _lanes import bench_order, store_patch
    from shopmail.flows.ingest import ingest
    from shopmail.store import store_settings

    call_command("migrate", interactive=False, verbosity=0)
    store_settings.patch(store_patch(2525))
    for i in range(args.warm):
        ingest(orders=[bench_order(10_000 + i)], source="api")
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(args.orders):
        ingest(orders=[bench_order(20_000 + i)], source="api")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"ingest of a new order: {1000 * cpu / args.orders:.2f} ms CPU, {1000 * wall / args.orders:.2f} ms wall "
        f"({args.orders} orders; load average {load})"
    )


if __name__ == "__main__":
    main()
