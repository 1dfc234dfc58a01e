"""Newsletter throughput: 100,000 opted-in customers, a 40 KB HTML newsletter, timed from "send"
until Postfix's ``smtp-sink`` has accepted every message.

    .venv/bin/python bench/newsletter.py [--customers 100000] [--workers 2] [--concurrency 25]
                                         [--postgres postgresql://postgres@127.0.0.1:55432/postgres]
                                         [--lane shopmail|post_office|both] [--with-source]
    .venv/bin/python bench/newsletter.py --queue-only [--baseline-src OTHER/src] [--runs 3]

Needs ``/usr/sbin/smtp-sink`` (Debian: ``apt-get install postfix``), started here on a free
127.0.0.1 port with ``-M <customers>`` so it exits once it has accepted them all; that exit is
the end of the clock. The shopmail lane runs ``shopmail worker`` processes (started, idle,
before the clock starts) against a fresh SQLite database in a temporary data dir, or a fresh
database on the given PostgreSQL server (created and dropped here). The clock starts when
``send`` is called on the newsletter (freezing the recipient list and queueing 100,000
messages is included) and stops when smtp-sink has the last one.

The django-post_office lane does the same with django-post_office 3.x in a virtualenv of its
own under the temporary dir (pip-installed there, never into this project): one e-mail per
customer from a template rendered on delivery with the customer's unsubscribe link and the same
text part, sent by ``send_queued_mail --processes N`` (--workers) with N threads (--concurrency).

smtp-sink exits on receiving the last message, before answering it, so in both lanes that one
message is recorded as deferred (it would be retried); the clock is right.

For scale: ``smtp-source -s 50 -l 110000 -m 20000`` against the same sink reaches about 2,560
msg/s (the sink uses a whole core), i.e. 39 s for 100,000 messages of this size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SINK = "/usr/sbin/smtp-sink"
HTML_BYTES = 40 * 1024
WORDS = (
    "warm", "wool", "socks", "knitted", "in", "norway", "merino", "winter", "soft",
    "light", "durable", "gift", "classic", "new", "season", "autumn", "cosy", "mug",
    "handmade", "stoneware", "coffee", "tea", "kitchen", "design", "nordic",
)  # fmt: skip


def newsletter_html(size: int = HTML_BYTES) -> str:
    """A believable newsletter: headings, paragraphs, product links and images, ``size`` bytes."""
    rng = random.Random(7)
    parts = ["<h1>Winter news from Fjord &amp; Fell</h1>"]
    n = 0
    while sum(map(len, parts)) < size:
        n += 1
        sentence = " ".join(rng.choice(WORDS) for _ in range(60)).capitalize()
        parts.append(
            f"<h2>Product {n}: {rng.choice(WORDS).title()} {rng.choice(WORDS)}</h2>"
            f'<p><img src="https://shop.example.com/img/{n}.jpg" alt="Product {n}" width="560"></p>'
            f"<p>{sentence}.</p>"
            f'<p><a href="https://shop.example.com/p/{n}?utm_source=newsletter&amp;utm_medium=email">'
            f"See product {n}</a></p>"
        )
    return "".join(parts)[:size]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port: int, count: int) -> subprocess.Popen:
    if not Path(SINK).exists():
        sys.exit(f"{SINK} not found: apt-get install postfix")
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    # -M: the sink exits once it has `count` messages, without answering the last one
    # (postfix 3.7, smtp-sink.c data_read). shopmail rightly keeps that message `deferred` as an
    # ambiguous delivery, the one "deferred" of a full run ("not_sent" in the report).
    proc = subprocess.Popen(
        [SINK, *user, "-m", "1000", "-M", str(count), f"127.0.0.1:{port}", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.recv(100)
                return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtp-sink did not start")


# --------------------------------------------------------------------------- databases


def pg_database(server_url: str | None, name: str) -> tuple[str | None, Callable[[], None]]:
    """A fresh database on the PostgreSQL server (dropped by the returned callable)."""
    if not server_url:
        return None, lambda: None
    import psycopg

    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


# --------------------------------------------------------------------------- shopmail lane


def setup(customers: int, port: int, concurrency: int) -> dict:
    """In the lane's environment: schema, customers, transport, the newsletter draft."""
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command

    from shopmail.newsletter import drafts
    from shopmail.store.models import Customer, StoreSettings

    call_command("migrate", verbosity=0)
    settings = StoreSettings.load()
    settings.from_email, settings.company_name = "news@shop.example.com", "Fjord & Fell"
    settings.transport = {
        "kind": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "timeout": 60,
        "pool_size": concurrency,
    }
    settings.save()
    rng = random.Random(1)
    since = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    batch = []
    for i in range(customers):
        batch.append(
            Customer(
                external_id=f"c{i}",
                email=f"customer{i}@example.com",
                first_name=rng.choice(["Ana", "Ola", "Kari", "Jürgen", ""]),
                last_name=f"Nordmann {i}",
                language=rng.choice(["en", "nb", "de", ""]),
                country="NO",
                newsletter_opt_in=True,
                newsletter_opt_in_at=since,
            )
        )
        if len(batch) == 5000:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    letter = drafts.save(None, subject="Winter news from Fjord & Fell", html=newsletter_html())
    return {"newsletter": letter.pk, "html_bytes": len(letter.html.encode())}


def send(newsletter_id: int) -> dict:
    import django

    django.setup()
    from shopmail.newsletter import sending
    from shopmail.newsletter.models import Newsletter

    start, cpu = time.perf_counter(), time.process_time()
    letter = sending.send(Newsletter.objects.get(pk=newsletter_id))
    return {
        "recipients": letter.recipient_count,
        "queue_seconds": round(time.perf_counter() - start, 2),
        "queue_cpu_seconds": round(time.process_time() - cpu, 2),
    }


def report() -> dict:
    import django

    django.setup()
    from django.db.models import Count

    from shopmail.mail.models import Message, Payload

    statuses = dict(
        Message.objects.filter(notification="newsletter").values_list("status").annotate(n=Count("pk"))
    )
    sample = Message.objects.filter(notification="newsletter", status="sent").first()
    size = 0
    if sample is not None:
        from shopmail.mail import compose
        from shopmail.store.models import StoreSettings

        size = len(compose.compose(sample, Payload.objects.get(pk=sample.pk), StoreSettings.load()).raw)
    # why a message is not sent (a deferral's reply, a failure), for up to three of them
    not_sent = [
        {"status": status, "attempts": attempts, "last_error": error}
        for status, attempts, error in Message.objects.filter(notification="newsletter")
        .exclude(status="sent")
        .values_list("status", "attempts", "last_error")[:3]
    ]
    return {"statuses": statuses, "message_bytes": size, "not_sent": not_sent}


def call(step: str, env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--step", step, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


SOURCE = "/usr/sbin/smtp-source"


def source_lane(args: argparse.Namespace, size: int) -> dict:
    """Postfix's ``smtp-source`` sending the same number of messages of the same size to the same
    kind of sink, with as many connections as the shopmail lane has in all: the ceiling."""
    port = free_port()
    sink = start_sink(port, args.customers)
    sessions = args.workers * args.concurrency
    start = time.perf_counter()
    source = subprocess.Popen(
        [SOURCE, "-s", str(sessions), "-l", str(size), "-m", str(args.customers), f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sink.wait(timeout=args.timeout)
        wall = time.perf_counter() - start
    finally:
        for proc in (source, sink):
            if proc.poll() is None:
                proc.kill()
    return {
        "lane": "smtp-source",
        "database": "-",
        "customers": args.customers,
        "message_bytes": size,
        "sessions": sessions,
        "wall_seconds": round(wall, 2),
        "msgs_per_s": round(args.customers / wall),
    }


def lane_env(src: Path, data: Path, database: str | None) -> dict[str, str]:
    """The environment of a shopmail step: the given src tree, data dir and database."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "shopmail.settings",
        "SHOPMAIL_DATA_DIR": str(data),
        "DATABASE_URL": database or "",
        "SHOPMAIL_BASE_URL": "https://shop.example.com",
    }


def queue_only(args: argparse.Namespace, work: Path, src: Path) -> dict:
    """Freezing the list and queueing only (issue 26, 3: queueing <= 3 s), no workers, no sink:
    a fresh database each time, the given src tree."""
    data = work / f"queue-{time.monotonic_ns()}"
    data.mkdir()
    database, drop = pg_database(args.postgres, f"shopmail_bench_q{os.getpid()}")
    env = lane_env(src, data, database)
    try:
        made = call("setup", env, str(args.customers), str(free_port()), str(args.concurrency))
        return {"src": str(src), "customers": args.customers, **call("send", env, str(made["newsletter"]))}
    finally:
        drop()


def shopmail_lane(args: argparse.Namespace, work: Path) -> dict:
    src = ROOT / "src"
    data = work / "shopmail-data"
    data.mkdir()
    database, drop = pg_database(args.postgres, f"shopmail_bench_{os.getpid()}")
    env = lane_env(src, data, database)
    port = free_port()
    workers: list[subprocess.Popen] = []
    sink = None
    try:
        made = call("setup", env, str(args.customers), str(port), str(args.concurrency))
        sink = start_sink(port, args.customers)
        for _ in range(args.workers):
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "shopmail.cli", "worker", "--concurrency", str(args.concurrency)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(3)  # the workers are up and idle
        start = time.perf_counter()
        queued = call("send", env, str(made["newsletter"]))
        try:
            sink.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            sys.exit(f"smtp-sink did not get {args.customers} messages within {args.timeout} s")
        wall = time.perf_counter() - start
        time.sleep(1)  # the workers record the last outcomes
        worker_cpu = sum(cpu_seconds(worker.pid) for worker in workers)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        checked = call("report", env)
        return {
            "lane": "shopmail",
            "database": "postgresql" if database else "sqlite",
            "workers": args.workers,
            "concurrency": args.concurrency,
            "customers": args.customers,
            **made,
            **queued,
            **checked,
            "worker_cpu_seconds": round(worker_cpu, 1),
            "wall_seconds": round(wall, 2),
            "msgs_per_s": round(args.customers / wall),
        }
    finally:
        for proc in [*workers, *([sink] if sink else [])]:
            if proc.poll() is None:
                proc.kill()
        drop()


# --------------------------------------------------------------------------- django-post_office lane

PO_SETTINGS = """
import os
SECRET_KEY = "bench"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "post_office"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["PO_DB"],
    "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "timeout": 60}}}
if os.environ.get("PO_PG"):
    import dj_database_url
    DATABASES = {"default": dj_database_url.parse(os.environ["PO_PG"])}
USE_TZ = True
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
EMAIL_BACKEND = "post_office.EmailBackend"
EMAIL_HOST, EMAIL_PORT = "127.0.0.1", int(os.environ["PO_PORT"])
POST_OFFICE = {
    "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
    "BATCH_SIZE": 1000,
    "THREADS_PER_PROCESS": int(os.environ.get("PO_THREADS", "5")),
    "LOG_LEVEL": 0,
    "DEFAULT_PRIORITY": "medium",
    "MESSAGE_ID_ENABLED": True,
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

PO_SCRIPT = """
import json, os, sys, time
import django
django.setup()
from django.core.management import call_command
from post_office import mail
from post_office.models import Email, EmailTemplate
step = sys.argv[1]
if step == "setup":
    call_command("migrate", verbosity=0)
    EmailTemplate.objects.create(
        name="newsletter", subject="Winter news from Fjord & Fell",
        content=open(os.environ["PO_TEXT"]).read() + "\\n\\nUnsubscribe: {{ unsubscribe_url }}",
        html_content=open(os.environ["PO_HTML"]).read()
        + '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    )
    print(json.dumps({}))
elif step == "send":
    count = int(sys.argv[2])
    start = time.perf_counter()
    # one e-mail per customer, personal link, rendered on delivery (post_office's bulk path)
    mail.send_many([
        {"recipients": [f"customer{i}@example.com"], "sender": "news@shop.example.com",
         "template": "newsletter", "render_on_delivery": True,
         "context": {"unsubscribe_url": f"https://shop.example.com/unsubscribe/{i}"},
         "headers": {"List-Unsubscribe": f"<https://shop.example.com/unsubscribe/{i}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
        for i in range(count)
    ])
    print(json.dumps({"queue_seconds": round(time.perf_counter() - start, 2)}))
elif step == "report":
    from django.db.models import Count
    statuses = dict(Email.objects.values_list("status").annotate(n=Count("pk")))
    size = len(Email.objects.first().email_message().message().as_bytes())
    print(json.dumps({"statuses": {str(k): v for k, v in statuses.items()}, "message_bytes": size}))
"""


def post_office_lane(args: argparse.Namespace, work: Path) -> dict:
    venv = work / "po-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "Django==5.2.*", "django-post_office", "dj-database-url", "psycopg[binary]"], check=True
    )
    project = work / "po"
    project.mkdir()
    (project / "po_settings.py").write_text(textwrap.dedent(PO_SETTINGS))
    (project / "po_run.py").write_text(textwrap.dedent(PO_SCRIPT))
    import inscriptis

    (project / "newsletter.html").write_text(newsletter_html())
    (project / "newsletter.txt").write_text(inscriptis.get_text(newsletter_html()).strip())  # as shopmail
    database, drop = pg_database(args.postgres, f"po_bench_{os.getpid()}")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(project),
        "DJANGO_SETTINGS_MODULE": "po_settings",
        "PO_DB": str(project / "po.sqlite3"),
        "PO_PG": database or "",
        "PO_PORT": str(port),
        "PO_HTML": str(project / "newsletter.html"),
        "PO_TEXT": str(project / "newsletter.txt"),
        "PO_THREADS": str(args.concurrency),
    }
    python = str(venv / "bin" / "python")
    sink = None

    def run(*argv: str) -> dict:
        out = subprocess.run([python, *argv], env=env, capture_output=True, text=True, cwd=project)
        if out.returncode:
            sys.exit(f"post_office {' '.join(argv)} failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        run("po_run.py", "setup")
        sink = start_sink(port, args.customers)
        start = time.perf_counter()
        queued = run("po_run.py", "send", str(args.customers))
        sender = subprocess.Popen(
            [python, "-m", "django", "send_queued_mail", "--processes", str(args.workers)],
            env=env,
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = start + args.timeout
        while sink.poll() is None:  # done when smtp-sink has them all; give up if the sender quits
            if sender.poll() is not None or time.perf_counter() > deadline:
                time.sleep(2)
                if sink.poll() is None:
                    sender.kill()
                    return {
                        "lane": "django-post_office",
                        "error": "not everything arrived",
                        **run("po_run.py", "report"),
                    }
            time.sleep(0.05)
        wall = time.perf_counter() - start
        sender.wait(timeout=120)
        return {
            "lane": "django-post_office",
            "database": "postgresql" if database else "sqlite",
            "processes": args.workers,
            "threads_per_process": args.concurrency,
            "customers": args.customers,
            **queued,
            **run("po_run.py", "report"),
            "wall_seconds": round(wall, 2),
            "msgs_per_s": round(args.customers / wall),
        }
    finally:
        if sink is not None and sink.poll() is None:
            sink.kill()
        drop()


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=50, help="SMTP connections per worker")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (a throwaway db is made)")
    parser.add_argument("--lane", choices=("shopmail", "post_office", "both"), default="shopmail")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--queue-only", action="store_true", help="only freeze and queue (no workers, no sink), --runs times"
    )
    parser.add_argument(
        "--baseline-src", default="", help="with --queue-only: also time this src tree, in turns"
    )
    parser.add_argument("--runs", type=int, default=3, help="with --queue-only: rounds (default 3)")
    parser.add_argument(
        "--with-source",
        action="store_true",
        help="after the shopmail lane, smtp-source with the same count, size and connections (the ceiling)",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:  # one step inside a lane's environment
        result = {
            "setup": lambda: setup(int(rest[0]), int(rest[1]), int(rest[2])),
            "send": lambda: send(int(rest[0])),
            "report": report,
        }[args.step]()
        print(json.dumps(result))
        return
    results = []
    if args.queue_only:
        trees = [ROOT / "src", *([Path(args.baseline_src)] if args.baseline_src else [])]
        times: dict[str, list[float]] = {str(tree): [] for tree in trees}
        with tempfile.TemporaryDirectory(prefix="shopmail-bench-") as tmp:
            for _ in range(args.runs):
                for tree in trees:
                    result = queue_only(args, Path(tmp), tree)
                    times[str(tree)].append(result["queue_seconds"])
                    print(json.dumps({**result, "load": os.getloadavg()[0]}), flush=True)
        medians = {name: sorted(values)[len(values) // 2] for name, values in times.items()}
        for name, median in medians.items():
            print(f"queueing {args.customers:,} recipients, median of {args.runs}: {median:.2f} s  ({name})")
        if args.baseline_src:
            new, old = medians[str(trees[0])], medians[str(trees[1])]
            print(f"this tree / baseline: {new / old:.3f} ({old / new:.1f}x faster)")
        return
    with tempfile.TemporaryDirectory(prefix="shopmail-bench-") as tmp:
        for lane in ("shopmail", "post_office"):
            if args.lane in (lane, "both"):
                work = Path(tmp) / lane
                work.mkdir()
                run = shopmail_lane if lane == "shopmail" else post_office_lane
                results.append(run(args, work))
                print(json.dumps(results[-1]), flush=True)
                if lane == "shopmail" and args.with_source:
                    results.append(source_lane(args, int(results[-1].get("message_bytes") or 110_000)))
                    print(json.dumps(results[-1]), flush=True)
    for result in results:
        if "wall_seconds" in result:
            print(
                f"{result['lane']:>20}: {result['customers']:,} messages in {result['wall_seconds']:.1f} s"
                f" = {result['msgs_per_s']:,} msg/s ({result['database']})"
            )
    rates = {result["lane"]: result["msgs_per_s"] for result in results if "msgs_per_s" in result}
    if "shopmail" in rates and "smtp-source" in rates:
        print(f"shopmail / smtp-source: {rates['shopmail'] / rates['smtp-source']:.1%} (target >= 85 %)")


if __name__ == "__main__":
    main()
