"""API ingest throughput against the floor of the web stack (issue 26, 1).

    .venv/bin/python bench/ingest.py [--orders 400] [--clients 1,8] [--rounds 1]
                                     [--postgres [URL]] [--profile FILE] [--baseline-src DIR]

Two servers run side by side on the same data dir / database, both waitress with the settings of
``shopmail serve`` (8 threads, the same limits; SQLite in WAL with synchronous=FULL):

* I0, the floor: a Django view under shopmail's settings and middleware that parses the same JSON
  (orjson, as the API does) and inserts one row per request in its own transaction;
* I1: ``PUT /api/v1/orders/{id}`` of new orders (order confirmation + staff notice: two e-mails
  queued each; the worker composes them, ADR 0012), I2: the same bodies again (unchanged
  replays), I3: one change each (status -> completed, updated_at later), all through
  ``shopmail serve --no-worker`` (the worker would share the CPU being measured; it is off, so
  queued mail stays queued).

Each lane runs with every client count of ``--clients``; lanes are interleaved within a round.
Printed per lane: orders/s (wall), the serving process's CPU ms per order (/proc/<pid>/stat, all
its threads), the load average before and after, and I1/I0. ``--profile FILE``: afterwards one more
I1 lane with 1 client against the same app wrapped in cProfile (request handling only), whose
top lines are printed and written to FILE. ``--baseline-src DIR`` (a ``src`` directory of another
commit, e.g. from ``git archive``): a third server runs that code (PYTHONPATH) on the same database,
and lanes B1-B3 repeat I1-I3 against it, interleaved, for before/after figures from one run.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _pg  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime of all threads


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- inside the servers


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopmail.settings")
    import django

    django.setup()


def step_setup(args: argparse.Namespace) -> None:
    """Migrate, a store that notifies (staff address, notify_since), an API key, the floor's table."""
    _django()
    from django.core.management import call_command
    from django.db import connection

    from _lanes import store_patch
    from shopmail.store import store_settings

    call_command("migrate", interactive=False, verbosity=0)
    store_settings.patch(store_patch(free_port()))
    serial = "BIGSERIAL PRIMARY KEY" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_floor (id {serial}, external_id TEXT, body TEXT)")
    connection.close()
    print("OK")


def floor_view(request: Any, order_id: str) -> Any:
    from django.db import connection, transaction

    from shopmail.api.base import json_body, json_response

    body = json_body(request)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (external_id, body) VALUES (%s, %s)", [order_id, request.body.decode()]
        )
    return json_response({"order": order_id, "stale": False, "changes": [], "messages": [], "n": len(body)})


def _waitress(application: Any, port: int) -> None:
    from django.conf import settings
    from waitress import serve

    from shopmail.cli.management.commands.serve import waitress_limits

    serve(
        application,
        host="127.0.0.1",
        port=port,
        threads=8,
        ident="shopmail",
        clear_untrusted_proxy_headers=not getattr(settings, "SHOPMAIL_TRUSTED_PROXIES", ()),
        **waitress_limits(),
    )


def step_floor(args: argparse.Namespace) -> None:
    _django()
    from django.conf import settings
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    module = sys.modules[__name__]
    module.urlpatterns = [path("floor/orders/<str:order_id>", csrf_exempt(floor_view))]  # type: ignore[attr-defined]
    module.urlpatterns.append(path("healthz", lambda request: json_ok()))  # type: ignore[attr-defined]
    settings.ROOT_URLCONF = __name__
    from django.core.wsgi import get_wsgi_application

    _waitress(get_wsgi_application(), args.port)


def json_ok() -> Any:
    from django.http import HttpResponse

    return HttpResponse("ok")


def step_profile_serve(args: argparse.Namespace) -> None:
    """shopmail's WSGI app (as `shopmail serve` runs it) with every request under cProfile."""
    import cProfile
    import pstats

    _django()
    from shopmail.wsgi import application

    profiler = cProfile.Profile()
    lock = threading.Lock()

    def profiled(environ: Any, start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/api/v1/orders/9"):  # the warm-up
            return application(environ, start_response)
        with lock:  # one request at a time under the profiler (1 client anyway)
            profiler.enable()
            try:
                return application(environ, start_response)
            finally:
                profiler.disable()

    def dump(*_: Any) -> None:
        pstats.Stats(profiler).dump_stats(args.out)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    _waitress(profiled, args.port)


# --------------------------------------------------------------------------- the driver


class Server:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path, health: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [*argv, "--port", str(self.port)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", health)
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline or self.process.poll() is not None:
                self.process.kill()  # not left running behind the bench
                raise SystemExit(f"server did not come up; see {log}")
            time.sleep(0.2)

    def cpu(self) -> float:
        return proc_cpu(self.process.pid)

    def stop(self, sig: int = signal.SIGINT) -> None:
        self.process.send_signal(sig)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def drive(server: Server, requests: list[tuple[str, bytes]], clients: int, key: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    counter = itertools.count()
    errors: list[str] = []
    messages = [0]
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while (i := next(counter)) < len(requests):
            path, body = requests[i]
            conn.request("PUT", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                errors.append(f"{path}: {response.status} {data[:200]!r}")
                continue
            with lock:
                messages[0] += len(json.loads(data).get("messages") or ())

    load_before = loadavg()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    cpu0, t0 = server.cpu(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - t0, server.cpu() - cpu0
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    n = len(requests)
    return {
        "orders_per_s": n / wall,
        "cpu_ms_per_order": 1000 * cpu / n,
        "cores": cpu / wall,
        "messages_per_order": messages[0] / n,
        "load": f"{load_before} -> {loadavg()}",
    }


def order_bodies(first: int, n: int) -> list[dict[str, Any]]:
    from _lanes import bench_order

    return [bench_order(first + i) for i in range(n)]


def changed(order: dict[str, Any]) -> dict[str, Any]:
    return {
        **order,
        "status": "completed",
        "status_label": "Completed",
        "updated_at": "2026-03-01T12:00:00+00:00",
    }


def run(args: argparse.Namespace, server_url: str) -> None:
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="shopmail-bench-ingest-"))
    database, drop = _pg.database(server_url, f"shopmail_bench_ingest_{os.getpid()}")
    env = {**os.environ, "SHOPMAIL_DATA_DIR": str(work / "data")}
    env.pop("DATABASE_URL", None)
    if database:
        env["DATABASE_URL"] = database
    servers: list[Server] = []
    try:
        subprocess.run([python, __file__, "--step", "setup"], env=env, check=True, stdout=subprocess.DEVNULL)
        key = subprocess.run(
            [python, "-m", "shopmail.cli", "apikey", "create", "--name", "bench"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        floor = Server([python, __file__, "--step", "floor"], env, work / "floor.log", "/healthz")
        shop = Server(
            [python, "-m", "shopmail.cli", "serve", "--no-worker", "--host", "127.0.0.1"],
            env, work / "serve.log", "/healthz?live=1",
        )  # fmt: skip
        servers = [floor, shop]
        base = None
        if args.baseline_src:
            base_env = {**env, "PYTHONPATH": args.baseline_src}
            base = Server(
                [python, "-m", "shopmail.cli", "serve", "--no-worker", "--host", "127.0.0.1"],
                base_env, work / "baseline.log", "/healthz?live=1",
            )  # fmt: skip
            servers.append(base)
        kind = "PostgreSQL" if database else "SQLite (WAL, synchronous=FULL)"
        print(f"database: {kind}; {args.orders} orders per lane; load average {loadavg()}", flush=True)
        warm = order_bodies(900_000, 20)  # imports, compiled templates, caches: not in the figures
        drive(floor, [(f"/floor/orders/{o['id']}", json.dumps(o).encode()) for o in warm], 1, key)
        drive(shop, [(f"/api/v1/orders/{o['id']}", json.dumps(o).encode()) for o in warm], 1, key)
        if base is not None:
            warm = order_bodies(920_000, 20)
            drive(base, [(f"/api/v1/orders/{o['id']}", json.dumps(o).encode()) for o in warm], 1, key)
        results: dict[tuple[str, int], list[dict[str, Any]]] = {}
        next_id = itertools.count(1_000_000, args.orders)
        for round_no in range(args.rounds):
            for clients in args.clients:
                first = next(next_id)
                orders = order_bodies(first, args.orders)
                bodies = [json.dumps(o).encode() for o in orders]
                lanes = {
                    "I0": (
                        floor,
                        [(f"/floor/orders/{o['id']}", b) for o, b in zip(orders, bodies, strict=True)],
                    ),
                    "I1": (
                        shop,
                        [(f"/api/v1/orders/{o['id']}", b) for o, b in zip(orders, bodies, strict=True)],
                    ),
                    "I2": (
                        shop,
                        [(f"/api/v1/orders/{o['id']}", b) for o, b in zip(orders, bodies, strict=True)],
                    ),
                    "I3": (
                        shop,
                        [(f"/api/v1/orders/{o['id']}", json.dumps(changed(o)).encode()) for o in orders],
                    ),
                }
                if base is not None:  # the same lanes on other order ids, against the baseline code
                    others = order_bodies(first + 5_000_000, args.orders)
                    lanes["B1"] = (
                        base,
                        [(f"/api/v1/orders/{o['id']}", json.dumps(o).encode()) for o in others],
                    )
                    lanes["B2"] = (base, lanes["B1"][1])
                    lanes["B3"] = (
                        base,
                        [(f"/api/v1/orders/{o['id']}", json.dumps(changed(o)).encode()) for o in others],
                    )
                    lanes = {k: lanes[k] for k in ("I0", "B1", "I1", "B2", "I2", "B3", "I3")}
                for lane, (server, requests) in lanes.items():
                    r = drive(server, requests, clients, key)
                    results.setdefault((lane, clients), []).append(r)
                    print(
                        f"round {round_no + 1} {lane} {clients} client(s): {r['orders_per_s']:7.1f} orders/s  "
                        f"server CPU {r['cpu_ms_per_order']:6.2f} ms/order ({r['cores']:.2f} cores)  "
                        f"{r['messages_per_order']:.1f} messages/order  load {r['load']}",
                        flush=True,
                    )
        print(f"\nmedians over {args.rounds} round(s), {kind}:")
        print("lane clients  orders/s  CPU ms/order  cores  of I0")
        for clients in args.clients:
            floor_rate = statistics.median(r["orders_per_s"] for r in results[("I0", clients)])
            for lane in ("I0", "I1", "I2", "I3", "B1", "B2", "B3"):
                runs = results.get((lane, clients))
                if not runs:
                    continue
                rate = statistics.median(r["orders_per_s"] for r in runs)
                cpu = statistics.median(r["cpu_ms_per_order"] for r in runs)
                cores = statistics.median(r["cores"] for r in runs)
                print(
                    f"{lane:4} {clients:7} {rate:9.1f} {cpu:13.2f} {cores:6.2f} {100 * rate / floor_rate:5.1f} %"
                )
        for clients in args.clients:
            i0 = statistics.median(r["orders_per_s"] for r in results[("I0", clients)])
            i1 = statistics.median(r["orders_per_s"] for r in results[("I1", clients)])
            cpu = statistics.median(r["cpu_ms_per_order"] for r in results[("I1", clients)])
            print(
                f"I1/I0 with {clients} client(s): {100 * i1 / i0:.1f} % (target >= 50 %); "
                f"I1 server CPU {cpu:.2f} ms per new order (target <= 2 ms)"
                + (
                    f"; I1 {i1:.0f} new orders/s (target on SQLite >= 400 with 8 clients)"
                    if clients == 8
                    else ""
                )
            )
            if base is not None:
                b1 = statistics.median(r["orders_per_s"] for r in results[("B1", clients)])
                bcpu = statistics.median(r["cpu_ms_per_order"] for r in results[("B1", clients)])
                print(
                    f"  against the baseline code ({clients} client(s)): I1/B1 {i1 / b1:.2f}x orders/s, "
                    f"CPU per new order {cpu:.2f} vs {bcpu:.2f} ms ({100 * (cpu - bcpu) / bcpu:+.0f} %)"
                )
        print(f"load average at the end: {loadavg()}")
        if args.profile:
            shop.stop()
            servers = [server for server in servers if server is not shop]  # the baseline's too
            profiled = Server(
                [python, __file__, "--step", "profile-serve", "--out", args.profile],
                env, work / "profile.log", "/healthz?live=1",
            )  # fmt: skip
            orders = order_bodies(next(next_id), args.orders)
            warm = order_bodies(910_000, 20)
            drive(profiled, [(f"/api/v1/orders/{o['id']}", json.dumps(o).encode()) for o in warm], 1, key)
            requests = [(f"/api/v1/orders/{o['id']}", json.dumps(o).encode()) for o in orders]
            r = drive(profiled, requests, 1, key)
            profiled.stop(signal.SIGTERM)
            print(f"\nprofiled I1, 1 client: {r['orders_per_s']:.1f} orders/s under cProfile; {args.profile}")
            import pstats

            stats = pstats.Stats(args.profile)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
    finally:
        for server in servers:
            server.stop()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=400, help="orders per lane and client count")
    parser.add_argument("--clients", default="1,8", help="client counts, comma-separated (default 1,8)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of interleaved lanes (medians)")
    parser.add_argument("--baseline-src", default="", metavar="DIR", help="lanes B1-B3: this src's code")
    parser.add_argument("--profile", default="", metavar="FILE", help="profile one more I1 lane into FILE")
    _pg.add_argument(parser)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        {"setup": step_setup, "floor": step_floor, "profile-serve": step_profile_serve}[args.step](args)
        return
    args.clients = [int(c) for c in args.clients.split(",")]
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    if args.baseline_src:
        args.baseline_src = str(Path(args.baseline_src).resolve())
    with _pg.server(args.postgres) as server_url:
        run(args, server_url)


if __name__ == "__main__":
    main()
