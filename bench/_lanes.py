"""The child side of ``bench/delivery.py``: one lane (or one set-up step) per process.

    python bench/_lanes.py COMMAND 'JSON ARGS'

Only the standard library is imported at the top: the shopmail lanes run in the project's
virtualenv, the Django / django-post_office / django-mailer lanes in the benchmark's own
virtualenv under /tmp. A lane sets itself up (imports, ``django.setup()``), prints
``BENCH READY``, waits for ``GO`` on stdin, does its work and prints ``BENCH DONE <time>``
(wall clock, ``time.time()``), then ``BENCH CHECK {json}`` with what it can verify. Lines
on stdout that do not start with ``BENCH`` are not read by the driver.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"


def out(*parts: Any) -> None:
    print("BENCH", *parts, flush=True)


_CPU_AT_GO = 0.0


def wait_go() -> float:
    """Set-up is done: say so, and start when the driver says GO (all lanes start alike)."""
    global _CPU_AT_GO
    out("READY", os.getpid())
    if sys.stdin.readline().strip() != "GO":
        sys.exit(3)
    _CPU_AT_GO = time.process_time()
    return time.time()


def done() -> None:
    """The work is done: wall-clock time and the CPU seconds (all threads) used since GO."""
    out("DONE", repr(time.time()), repr(time.process_time() - _CPU_AT_GO))


# -- plain Django projects (L2, L3): settings in code, SQLite like shopmail's --------------------


def configure_plain(app: str, args: dict[str, Any]) -> None:
    import django
    from django.conf import settings

    apps = {"l2": [], "po": ["post_office"], "mailer": ["mailer"]}[app]
    databases = {}
    if args.get("db"):
        databases["default"] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": args["db"],
            # The same SQLite set-up as shopmail's (settings.py), so the database costs the same.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 60,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                    " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
                ),
            },
        }
    workdir = Path(args.get("workdir") or "/tmp")
    settings.configure(
        SECRET_KEY="delivery-benchmark-not-secret",
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=apps,
        DATABASES=databases,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        # django-post_office renders subject and body through Django templates when queueing
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=int(args["port"]),
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=30,
        DEFAULT_FROM_EMAIL="shop@example.com",
        # django-post_office: its defaults (1 process, 5 threads, batches of 100, a log row per
        # mail); only the backend is named, as its docs require.
        POST_OFFICE={"BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"}},
        # django-mailer: its defaults; the lock file goes to this run's directory.
        MAILER_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        MAILER_LOCK_PATH=str(workdir / "mailer-send"),
        LOGGING_CONFIG=None,
    )
    django.setup()


def sample(args: dict[str, Any]) -> dict[str, str]:
    return json.loads(Path(args["sample"]).read_text())


def mails(args: dict[str, Any]) -> list[tuple[str, str]]:
    """(subject, recipient) per message: the real order_confirmed body, a new order number each."""
    first = int(args.get("first", 200000))
    template = sample(args)["subject"]
    return [
        (template.replace("{number}", str(first + i)), f"customer{first + i}@example.com")
        for i in range(int(args["n"]))
    ]


def cmd_migrate_plain(args: dict[str, Any]) -> None:
    configure_plain(args["app"], args)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    out("OK")


def cmd_queue(args: dict[str, Any]) -> None:
    """Queue N mails with the package's own API (not timed as sending)."""
    app = args["app"]
    configure_plain(app, args)
    body = sample(args)
    started = time.perf_counter()
    if app == "po":
        from post_office import mail

        mail.send_many(
            [
                {
                    "sender": body["from"],
                    "recipients": [to],
                    "subject": subject,
                    "message": body["text"],
                    "html_message": body["html"],
                }
                for subject, to in mails(args)
            ]
        )
    else:
        import mailer
        from django.db import transaction

        with transaction.atomic():  # one commit: queueing is not what is measured
            for subject, to in mails(args):
                mailer.send_html_mail(subject, body["text"], body["html"], body["from"], [to])
    out("QUEUED", repr(time.perf_counter() - started))


def cmd_run(args: dict[str, Any]) -> None:
    lane = args["lane"]
    if lane == "l4":
        run_shopmail(args)
        return
    if lane == "l4t":
        run_transport_only(args)
        return
    configure_plain({"l2": "l2", "l2n": "l2", "po": "po", "mailer": "mailer"}[lane], args)
    from django.core.management import call_command

    if lane in ("l2", "l2n"):
        from django.core.mail import EmailMultiAlternatives, get_connection, send_mail

        body = sample(args)
        todo = mails(args)
        wait_go()
        if lane == "l2":  # one connection, reused: a message built and sent per loop turn
            connection = get_connection()
            connection.open()
            sent = 0
            for subject, to in todo:
                message = EmailMultiAlternatives(
                    subject, body["text"], body["from"], [to], connection=connection
                )
                message.attach_alternative(body["html"], "text/html")
                sent += message.send()
            connection.close()
        else:  # the naive loop: django.core.mail.send_mail, a new connection per message
            sent = sum(
                send_mail(subject, body["text"], body["from"], [to], html_message=body["html"])
                for subject, to in todo
            )
        done()
        out("CHECK", json.dumps({"sent": sent}))
        return
    if lane == "po":
        from post_office.management.commands import send_queued_mail  # noqa: F401 - import before GO
        from post_office.models import STATUS, Email

        wait_go()
        call_command("send_queued_mail", processes=1, lockfile=str(Path(args["workdir"]) / "po-lock"))
        done()
        counts = Counter(Email.objects.values_list("status", flat=True))
        out("CHECK", json.dumps({"sent": counts.get(STATUS.sent, 0), "all": dict(counts)}))
        return
    if lane == "mailer":
        from mailer.management.commands import send_mail as _command  # noqa: F401 - import before GO
        from mailer.models import RESULT_SUCCESS, Message, MessageLog

        wait_go()
        call_command("send_mail")
        done()
        out(
            "CHECK",
            json.dumps(
                {
                    "sent": MessageLog.objects.filter(result=RESULT_SUCCESS).count(),
                    "left_in_queue": Message.objects.count(),
                }
            ),
        )
        return
    raise SystemExit(f"unknown lane {lane!r}")


# -- shopmail ------------------------------------------------------------------------------------


def setup_django_shopmail(data_dir: str) -> None:
    os.environ["SHOPMAIL_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopmail.settings")
    import django

    django.setup()


def run_shopmail(args: dict[str, Any]) -> None:
    """``shopmail worker --once --concurrency C``: the command itself, after django.setup()."""
    setup_django_shopmail(args["data"])
    from django.core.management import call_command

    from shopmail.cli.management.commands import worker  # noqa: F401 - import before GO
    from shopmail.mail.models import Message

    wait_go()
    call_command("worker", once=True, concurrency=int(args.get("concurrency", 16)))
    done()
    counts = Counter(Message.objects.values_list("status", flat=True))
    out("CHECK", json.dumps({"sent": counts.get("sent", 0), "all": dict(counts)}))


def run_transport_only(args: dict[str, Any]) -> None:
    """L4t: the stored messages claimed and read before GO, then only shopmail's SMTP transport
    (``send_many`` in the worker's chunks over a pool of C connections): no database work timed."""
    setup_django_shopmail(args["data"])
    import asyncio

    from shopmail.mail import worker
    from shopmail.mail.transports import make_transport
    from shopmail.store.models import StoreSettings

    store = StoreSettings.load()
    concurrency = int(args.get("concurrency", 16))
    envelopes = []
    while ids := worker.claim("bench", 1024):
        envelopes += worker.prepare(ids, store).envelopes
    chunk = worker.Worker(concurrency=concurrency).chunk_size
    config = {**store.transport, "pool_size": concurrency}

    async def send() -> int:
        transport = make_transport(config, args["data"])
        sent = 0
        try:
            for start in range(0, len(envelopes), chunk):
                results = await transport.send_many(envelopes[start : start + chunk])
                sent += sum(1 for r in results if r.code == 250)
        finally:
            await transport.close()
        return sent

    wait_go()
    sent = asyncio.run(send())
    done()
    out("CHECK", json.dumps({"sent": sent}))


def bench_order(order_id: int, lines: int = 3) -> dict[str, Any]:
    """A new processing order as a shop sends it (tests/factories.py), with a few lines."""
    sys.path.insert(0, str(TESTS))
    from factories import order

    data = order(str(order_id), status="processing")
    first = data["lines"][0]
    data["lines"] = [
        {**first, "id": str(i + 1), "sku": f"SKU-{i:03d}", "name": f"Product {i}", "quantity": 1 + i % 3}
        for i in range(lines)
    ]
    return data


def store_patch(port: int) -> dict[str, Any]:
    return {
        "admin_email": "orders@shop.example.com",
        "notify_since": "2020-01-01T00:00:00+00:00",
        "transport": {"kind": "smtp", "host": "127.0.0.1", "port": port, "security": "none", "pool_size": 8},
    }


def cmd_setup_shopmail(args: dict[str, Any]) -> None:
    """A data dir with N queued order e-mails, made by the real ingest; a sample body for L2/L3."""
    setup_django_shopmail(args["data"])
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from shopmail.flows.ingest import ingest
    from shopmail.mail import compose
    from shopmail.mail.models import Message, Payload
    from shopmail.store import store_settings

    store = store_settings.patch(store_patch(int(args["port"])))
    orders = int(args["n"]) // 2
    started = time.perf_counter()
    # in runs of 50 orders, as order PUTs and webhooks arrive
    for first in range(0, orders, 50):
        ingest(orders=[bench_order(100000 + i) for i in range(first, min(first + 50, orders))], source="api")
    took = time.perf_counter() - started
    # The worker composes order mail before it sends it (ADR 0012); the delivery lanes measure
    # sending, so the set-up composes everything first, as the worker's batches do, and says how long
    # that took (composing is measured here, and in bench/render.py)
    from shopmail.mail.worker import prepare

    started = time.perf_counter()
    ids = list(Message.objects.order_by("id").values_list("id", flat=True))
    for first in range(0, len(ids), 256):
        prepare(ids[first : first + 256], store)
    composing = time.perf_counter() - started
    counts = Counter(Message.objects.values_list("notification", "status"))
    out("INGESTED", json.dumps({f"{k[0]}/{k[1]}": v for k, v in counts.items()}), repr(composing), repr(took))
    if args.get("sample"):
        message = Message.objects.filter(notification="order_confirmed").order_by("id").first()
        assert message is not None
        composed = compose.compose(message, Payload.objects.get(pk=message.pk), store)  # not saved
        number = (message.order.number if message.order else "") or "100000"
        sizes = [len(composed.raw)]
        admin = Message.objects.filter(notification="admin_order_placed").order_by("id").first()
        if admin is not None:
            sizes.append(len(compose.compose(admin, Payload.objects.get(pk=admin.pk), store).raw))
        Path(args["sample"]).write_text(
            json.dumps(
                {
                    "subject": composed.subject.replace(number, "{number}"),
                    "text": composed.text,
                    "html": composed.html,
                    "from": store.from_email,
                    "shopmail_sizes": sizes,
                }
            )
        )
    if connection.vendor == "sqlite":  # the data dir is copied per run: everything in the main file
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def cmd_latency_setup(args: dict[str, Any]) -> None:
    setup_django_shopmail(args["data"])
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from shopmail.store import store_settings

    store_settings.patch(store_patch(int(args["port"])))
    out("OK")


def cmd_latency_db(args: dict[str, Any]) -> None:
    """Every message of the latency run: Message-ID, order, created_at, sent_at, status."""
    setup_django_shopmail(args["data"])
    from shopmail.mail.models import Message

    rows = [
        {
            "message_id": m.message_id,
            "order": m.order.external_id if m.order else None,
            "notification": m.notification,
            "status": m.status,
            "created": m.created_at.timestamp(),
            "sent": m.sent_at.timestamp() if m.sent_at else None,
            "attempts": m.attempts,
        }
        for m in Message.objects.select_related("order")
    ]
    Path(args["out"]).write_text(json.dumps(rows))
    out("OK", len(rows))


def cmd_profile(args: dict[str, Any]) -> None:
    """Where the worker's time goes: wall time per phase, and optionally cProfile of both threads.

    The database phases run in the worker's database thread while chunks are on the wire (the
    next batch is claimed ahead, outcomes are written in the background), so the phase times
    can add up to more than the run. With ``cprofile`` the event-loop thread and the database
    thread are each profiled (cProfile alone sees only the main thread).
    """
    setup_django_shopmail(args["data"])
    import asyncio
    import cProfile
    import functools

    import shopmail.mail.outcomes as outcomes_mod
    import shopmail.mail.worker as worker_mod
    from shopmail.mail.models import Message
    from shopmail.mail.transports.smtp import SmtpTransport
    from shopmail.store.models import StoreSettings

    use_cprofile = bool(args.get("cprofile"))
    variant = args.get("variant", "as-is")
    if args.get("limit"):  # a smaller run (cProfile is slow): the rest is set aside
        keep = list(Message.objects.order_by("id").values_list("pk", flat=True)[: int(args["limit"])])
        Message.objects.exclude(pk__in=keep).update(status="cancelled")
    totals: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    db_profile = cProfile.Profile()
    main_profile = cProfile.Profile()

    def timed(name: str, fn: Any, profile_db: bool = False) -> Any:
        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            if profile_db and use_cprofile:
                db_profile.enable()
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                totals[name] += time.perf_counter() - started
                calls[name] += 1
                if profile_db and use_cprofile:
                    db_profile.disable()

        return wrapper

    for name in ("claim", "prepare", "renew", "record"):  # as the worker module calls them
        if hasattr(worker_mod, name):
            setattr(worker_mod, name, timed(name, getattr(worker_mod, name), profile_db=True))
    load = StoreSettings.load
    StoreSettings.load = staticmethod(timed("settings", load, profile_db=True))  # type: ignore[assignment]
    # inside record
    outcomes_mod.insert_rows = timed("record/insert attempts", outcomes_mod.insert_rows)
    outcomes_mod.log.info = timed("record/log.info per chunk (JSON lines to stderr)", outcomes_mod.log.info)

    send_many = SmtpTransport.send_many

    async def timed_send(self: Any, envelopes: Any, deadline: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return await send_many(self, envelopes, deadline)
        finally:
            totals["send"] += time.perf_counter() - started
            calls["send"] += 1

    SmtpTransport.send_many = timed_send  # type: ignore[method-assign]
    started = time.perf_counter()
    if use_cprofile:
        main_profile.enable()
    asyncio.run(worker_mod.Worker(concurrency=int(args.get("concurrency", 16))).run(once=True))
    if use_cprofile:
        main_profile.disable()
    wall = time.perf_counter() - started
    sent = Message.objects.filter(status="sent").count()
    n = Message.objects.exclude(status="cancelled").count()
    result: dict[str, Any] = {
        "variant": variant,
        "n": n,
        "sent": sent,
        "wall": wall,
        "phases": {k: [v, calls[k]] for k, v in totals.items()},
    }
    if use_cprofile:
        import pstats

        main_profile.dump_stats(args["out"] + ".main.pstats")
        db_profile.dump_stats(args["out"] + ".db.pstats")
        stats = pstats.Stats(args["out"] + ".main.pstats")
        stats.add(args["out"] + ".db.pstats")
        stats.dump_stats(args["out"] + ".pstats")
        result["pstats"] = args["out"] + ".pstats"
    Path(args["out"] + ".json").write_text(json.dumps(result))
    out("PROFILED", json.dumps(result))


COMMANDS = {
    "migrate-plain": cmd_migrate_plain,
    "queue": cmd_queue,
    "run": cmd_run,
    "setup-shopmail": cmd_setup_shopmail,
    "latency-setup": cmd_latency_setup,
    "latency-db": cmd_latency_db,
    "profile": cmd_profile,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
