"""Delivery throughput and latency: shopmail against the C ceiling, Django and the queue packages.

    .venv/bin/python bench/delivery.py [--n 2000] [--runs 5] [--lanes L0,L2,L3po,L3mailer,L4]
                                       [--postgres [URL]]  (shopmail's lanes on PostgreSQL)
                                       [--latency-seconds 20] [--no-latency] [--no-profile]

One Postfix ``smtp-sink`` (``-c``: it counts every message it accepts) on 127.0.0.1 receives
every throughput lane. In each round every lane sends N messages; the lanes take turns
(round r starts at lane r), so drift and other load on the machine hit all of them alike.

* L0     ``smtp-source -s 20 -d -m N -l 4096``: 20 reused connections, the C ceiling.
* L0s    the same with messages as large as shopmail's (~14.7 KB, rendered HTML + text).
* L2     Django: one connection (``get_connection()`` + ``open()``), then per message an
         ``EmailMultiAlternatives`` (text + HTML) built and sent over it.
* L2n    Django's naive loop: ``send_mail(..., html_message=...)`` per message (a new
         connection each).
* L3po   django-post_office: N mails queued with ``mail.send_many``, then ``send_queued_mail``
         (its defaults: 1 process, 5 threads, batches of 100).
* L3mailer  django-mailer: N mails queued with ``send_html_mail``, then ``send_mail``.
* L4     shopmail: N order e-mails queued by the real ingest (N/2 new processing orders, each
         giving order_confirmed + admin_order_placed), then ``shopmail worker --once
         --concurrency 16`` (transport smtp, pool_size 16) until all are sent. 16 connections
         as L0 has 20 (at 8, L4 was 10-20 % slower; at 20 and 32 no faster than at 16).
* L4x2   the same with two worker processes on the one database (what ``shopmail worker
         --processes 2`` runs; both started before the clock). One worker process uses about
         one core (Python runs one thread at a time); two is the README's set-up for a 2-core
         machine, so L4x2/L0 is printed against the >= 50 % target as well as L4/L0.
* L4t    shopmail's SMTP transport alone: the same messages claimed and read before the clock,
         then only ``send_many`` in the worker's chunks over the same pool (no database).

L2 and L3 send the very body shopmail renders for order_confirmed (same size and MIME shape);
they do not render templates. L3's SQLite database has shopmail's settings (WAL,
synchronous=FULL). Queueing for L3 and ingest for L4 are done before the clock starts.

Timing: each Python lane does its set-up (interpreter, imports, ``django.setup()``) first and
then waits; the clock starts when all its processes are told GO and stops when the command has
returned *and* the sink has counted all N messages. ``msg/s`` is N over that time; "incl.
start" also counts the process start-up. ``smtp-sink -M N`` is not used to see that all
arrived: it exits on the final dot of the N-th message before answering it, so the N-th
message would be left unanswered (postfix 3.7, smtp-sink.c ``data_read``); the ``-c`` counter
is read instead, and after every lane the sink must have counted exactly N more messages and
the lane must report N sent.

Latency: ``shopmail serve`` (worker in-process; with ``--latency-worker separate``,
``serve --no-worker`` plus a ``shopmail worker`` process, which learns of new mail from the
database: ``mail.wakeup``) with the transport on a second sink that dumps every message (``-d``); orders are PUT over HTTP at ``--latency-rate`` orders/s; the
latency of a message is from just before its order's PUT to the sink having the message
(the dump file's modification time), mapped by Message-ID. Before the clock, one authenticated
``GET`` (the API key's first use verifies its Argon2 hash, once per process). Printed besides the
percentiles: the slowest message and the slowest PUT response of each second of the run.

Profile: one more L4 run with wall-clock timers around the worker's phases, and one under
cProfile (event-loop thread and database thread each).

Needs ``/usr/sbin/smtp-sink`` and ``smtp-source`` (Debian ``postfix``; installed with apt-get if
missing, the daemon is never started) and a virtualenv for the comparison lanes
(``--venv``, default /tmp/shopmail-bench-venv, created with pip if missing: Django at the
project's version, django-post_office, django-mailer). The project's own virtualenv and
pyproject.toml are not touched.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import http.client
import itertools
import json
import os
import pstats
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _pg  # noqa: E402  (bench/_pg.py: PostgreSQL for the bench scripts)

LANES_PY = HERE / "_lanes.py"
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_LANES = ["L0", "L0s", "L2", "L2n", "L3po", "L3mailer", "L4", "L4x2", "L4t", "L4alt"]
DEFAULT_LANES = "L0,L0s,L2,L3po,L3mailer,L4,L4x2"


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- machine set-up -------------------------------------------------------------------------------


def ensure_postfix_tools() -> None:
    if Path(SINK).exists() and Path(SOURCE).exists():
        return
    log("smtp-sink missing: installing the Debian package postfix (the daemon is not started)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    updated = False
    for attempt in range(30):
        proc = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "postfix"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode == 0 and Path(SINK).exists():
            return
        text = proc.stdout + proc.stderr
        if "lock" in text.lower():  # another engineer's apt-get is running: wait for it
            log(f"  apt is locked, waiting (attempt {attempt + 1})")
            time.sleep(10)
        elif not updated:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            updated = True
        else:
            raise SystemExit(f"could not install postfix:\n{text[-2000:]}")
        if Path(SINK).exists():
            return
    raise SystemExit("apt stayed locked; install postfix and run again")


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    django_version = metadata.version("Django")
    check = (
        "import importlib.util as u, django; assert u.find_spec('post_office') and u.find_spec('mailer');"
        "print(django.get_version())"
    )
    if python.exists():
        got = subprocess.run([python, "-c", check], capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == django_version:
            return python
    log(f"creating {venv} (Django=={django_version}, django-post_office, django-mailer)")
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            f"Django=={django_version}",
            "django-post_office",
            "django-mailer",
        ],
        check=True,
    )
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def package_versions(python: Path) -> str:
    code = (
        "from importlib.metadata import version as v;"
        "print(' '.join(f'{p}={v(p)}' for p in ('Django','django-post_office','django-mailer')))"
    )
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


# -- CPU accounting -------------------------------------------------------------------------------


def busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores) since boot, not counting idle."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / CLK_TCK
    except OSError:
        return 0.0


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- the sink -------------------------------------------------------------------------------------


class Sink:
    """``smtp-sink -c`` on a free port; a thread follows its message counter."""

    def __init__(self, workdir: Path, name: str, dump_dir: Path | None = None) -> None:
        self.port = free_port()
        self.counter_path = workdir / f"{name}.counter"
        command = [SINK, "-c"]
        if os.geteuid() == 0:
            command += ["-u", getpass.getuser()]  # required when started as root
        if dump_dir is not None:
            dump_dir.mkdir(parents=True, exist_ok=True)
            command += ["-d", f"{dump_dir}/m."]
        command += [f"127.0.0.1:{self.port}", "1024"]
        self.proc = subprocess.Popen(
            command,
            stdout=open(self.counter_path, "wb"),  # noqa: SIM115 - the sink owns it
            stderr=open(workdir / f"{name}.log", "wb"),  # noqa: SIM115
        )
        self.count = 0
        self.history: list[tuple[float, int]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"smtp-sink did not start: {' '.join(command)}") from None
                time.sleep(0.05)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()
        # our probe connection is a session, not a message; wait for the counter file to settle
        time.sleep(0.1)

    def _follow(self) -> None:
        with open(self.counter_path, "rb") as f:
            pending = b""
            while not self._stop.is_set():
                chunk = f.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                now = time.time()
                pending += chunk
                end = pending.rfind(b"\r")
                if end < 0:
                    continue
                records, pending = pending[:end], pending[end + 1 :]
                at = records.rfind(b"mesg=")
                count = int(records[at + 5 :].split(b"\r", 1)[0])
                if count != self.count:
                    with self._changed:
                        self.count = count
                        self.history.append((now, count))
                        self._changed.notify_all()

    def wait_for(self, target: int, timeout: float) -> float | None:
        """When the counter first reached ``target`` (None if it did not within ``timeout``)."""
        deadline = time.time() + timeout
        with self._changed:
            while self.count < target:
                left = deadline - time.time()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return next(t for t, c in self.history if c >= target)

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- running one lane -----------------------------------------------------------------------------


@dataclass
class Run:
    lane: str
    n: int
    seconds: float  # GO until all accepted
    wall: float  # process start until all accepted
    cpu: float  # the lane's own CPU seconds after GO
    others: float  # average cores busy with anything else (other engineers, the sink, ...)
    sink_delta: int
    sent: int
    ok: bool
    note: str = ""
    queued: float = 0.0  # seconds the lane's own queueing took before the clock (L3)

    @property
    def rate(self) -> float:
        return self.n / self.seconds


@dataclass
class Child:
    proc: subprocess.Popen[str]
    lines: dict[str, list[str]] = field(default_factory=dict)
    ready: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("BENCH "):
                kind, _, rest = line[6:].rstrip("\n").partition(" ")
                self.lines.setdefault(kind, []).append(rest)
                if kind == "READY":
                    self.ready.set()
        self.ready.set()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.n: int = args.n
        self.workdir = Path(args.workdir)
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        (self.workdir / "logs").mkdir()
        self.project_python = Path(sys.executable)
        self.venv_python = ensure_venv(Path(args.venv))
        self.sink = Sink(self.workdir, "sink")
        self.counter = itertools.count()
        self.sample_path = self.workdir / "sample.json"
        self.shopmail_template = self.workdir / "tpl-shopmail"
        self.plain_templates: dict[str, Path] = {}
        self.server_url: str = getattr(args, "server_url", "")
        self.template_db = f"shopmail_bench_tpl_{os.getpid()}"
        self.drops: list[Any] = []

    def database_env(self, url: str) -> dict[str, str]:
        """The environment of a shopmail process: SQLite in its data dir, or the given database."""
        env = {**os.environ}
        env.pop("DATABASE_URL", None)
        if url:
            env["DATABASE_URL"] = url
        return env

    def run_database(self, name: str) -> str:
        """A database for one run: on PostgreSQL a copy of the prepared template ('' on SQLite)."""
        url, drop = _pg.database(
            self.server_url, f"shopmail_bench_{os.getpid()}_{name.lower()}", self.template_db
        )
        if url:
            self.drops.append(drop)
        return url

    # set-up, once --------------------------------------------------------------------------

    def lanes_cmd(self, python: Path, command: str, **args: Any) -> list[str]:
        return [str(python), str(LANES_PY), command, json.dumps(args)]

    def call(self, python: Path, command: str, log_name: str, **args: Any) -> dict[str, list[str]]:
        """Run a set-up step of _lanes.py and return its BENCH lines."""
        with open(self.workdir / f"{log_name}.log", "w") as err:
            proc = subprocess.run(
                self.lanes_cmd(python, command, **args), stdout=subprocess.PIPE, stderr=err, text=True
            )
        if proc.returncode != 0:
            raise SystemExit(f"{command} failed; see {self.workdir / (log_name + '.log')}")
        lines: dict[str, list[str]] = {}
        for line in proc.stdout.splitlines():
            if line.startswith("BENCH "):
                kind, _, rest = line[6:].partition(" ")
                lines.setdefault(kind, []).append(rest)
        return lines

    def prepare(self) -> None:
        started = time.perf_counter()
        if self.server_url:  # the prepared queue is a template database, copied for every run
            url, drop = _pg.database(self.server_url, self.template_db)
            self.drops.append(drop)
            os.environ["DATABASE_URL"] = url
        else:
            os.environ.pop("DATABASE_URL", None)
        got = self.call(
            self.project_python, "setup-shopmail", "setup-shopmail",
            data=str(self.shopmail_template), n=self.n, port=self.sink.port, sample=str(self.sample_path),
        )  # fmt: skip
        os.environ.pop("DATABASE_URL", None)  # each run names its own database
        counts, composing, took = got["INGESTED"][0].rsplit(" ", 2)
        self.ingest_seconds = float(took)
        log(
            f"shopmail: ingested {self.n // 2} orders in {float(took):.2f} s -> {counts}; composed their "
            f"{self.n} e-mails in {float(composing):.2f} s ({self.n / float(composing):,.0f} msg/s, worker.prepare, "
            "before the lanes: they measure sending)"
        )
        sample = json.loads(self.sample_path.read_text())
        self.shopmail_size = int(statistics.mean(sample["shopmail_sizes"]))
        for app in ("po", "mailer"):
            if not any(lane.startswith(f"L3{app}") for lane in self.args.lanes):
                continue
            db = self.workdir / f"tpl-{app}.sqlite3"
            self.call(self.venv_python, "migrate-plain", f"migrate-{app}", app=app, db=str(db), port=1)
            self.plain_templates[app] = db
        log(f"set-up done in {time.perf_counter() - started:.1f} s")

    # one lane run ---------------------------------------------------------------------------

    def spawn(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Child:
        child = Child(
            subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=open(log_path, "w"),  # noqa: SIM115 - closed with the process
                text=True,
                env=env,
            )
        )
        threading.Thread(target=child.read, daemon=True).start()
        return child

    def measure(self, lane: str, argvs: list[list[str]], env: dict[str, str] | None = None) -> Run:
        """Start the lane's processes, wait until they are set up, GO, wait for all N at the sink."""
        n = self.n
        base = self.sink.count
        spawned = time.time()
        run_dir = self.workdir / "logs"
        tag = next(self.counter)
        children = [
            self.spawn(argv, run_dir / f"{tag:03d}-{lane}-{i}.log", env) for i, argv in enumerate(argvs)
        ]
        for child in children:
            if not child.ready.wait(120) or "READY" not in child.lines:
                raise SystemExit(f"{lane}: a process did not get ready; see {run_dir}")
        busy0, sink0, self0 = busy_seconds(), self.sink.cpu(), self_cpu()
        go = time.time()
        for child in children:
            assert child.proc.stdin is not None
            child.proc.stdin.write("GO\n")
            child.proc.stdin.flush()
        timeout = max(120.0, n / 10)
        for child in children:
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                child.proc.kill()
        exited = time.time()
        reached = self.sink.wait_for(base + n, timeout=20)
        done = [float(child.lines["DONE"][0].split()[0]) for child in children if "DONE" in child.lines]
        end = max([*done, reached or exited])
        busy, sink_cpu, own = busy_seconds() - busy0, self.sink.cpu() - sink0, self_cpu() - self0
        cpu = sum(float(child.lines["DONE"][0].split()[1]) for child in children if "DONE" in child.lines)
        checks = [json.loads(child.lines["CHECK"][0]) for child in children if "CHECK" in child.lines]
        sent = max((check.get("sent", 0) for check in checks), default=0)
        time.sleep(0.05)  # late (duplicate) arrivals would show in the count now
        delta = self.sink.count - base
        ok = reached is not None and delta == n and sent == n and len(done) == len(children)
        seconds = end - go
        note = (
            ""
            if ok
            else f"sink +{delta}, lane says {sent} sent, exit {[c.proc.returncode for c in children]}"
        )
        return Run(
            lane, n, seconds, end - spawned, cpu, max(0.0, (busy - cpu - sink_cpu - own) / seconds),
            delta, sent, ok, note,
        )  # fmt: skip

    def run_source(self, lane: str, size: int) -> Run:
        n = self.n
        base = self.sink.count
        busy0, sink0, self0, kids0 = busy_seconds(), self.sink.cpu(), self_cpu(), children_cpu()
        go = time.time()
        proc = subprocess.run(
            [SOURCE, "-s", "20", "-d", "-m", str(n), "-l", str(size), f"127.0.0.1:{self.sink.port}"],
            capture_output=True, text=True,
        )  # fmt: skip
        exited = time.time()
        reached = self.sink.wait_for(base + n, timeout=20)
        end = max(exited, reached or exited)
        cpu = children_cpu() - kids0
        busy, sink_cpu, own = busy_seconds() - busy0, self.sink.cpu() - sink0, self_cpu() - self0
        time.sleep(0.05)
        delta = self.sink.count - base
        ok = proc.returncode == 0 and reached is not None and delta == n
        seconds = end - go
        return Run(
            lane, n, seconds, seconds, cpu, max(0.0, (busy - cpu - sink_cpu - own) / seconds), delta,
            n if proc.returncode == 0 else 0, ok,
            "" if ok else f"sink +{delta}, {proc.stderr.strip()[-200:]}",
        )  # fmt: skip

    def run_plain(self, lane: str) -> Run:
        tag = next(self.counter)
        run_dir = self.workdir / f"run-{tag:03d}-{lane}"
        run_dir.mkdir()
        common = {
            "port": self.sink.port, "sample": str(self.sample_path), "n": self.n, "workdir": str(run_dir),
            "first": 200000 + tag * self.n,
        }  # fmt: skip
        queued = ""
        if lane.startswith("L3"):
            app = lane[2:]
            db = run_dir / "db.sqlite3"
            shutil.copy(self.plain_templates[app], db)
            common["db"] = str(db)
            got = self.call(self.venv_python, "queue", f"logs/{tag:03d}-{lane}-queue", app=app, **common)
            queued = got["QUEUED"][0]
        name = {"L2": "l2", "L2n": "l2n", "L3po": "po", "L3mailer": "mailer"}[lane]
        result = self.measure(lane, [self.lanes_cmd(self.venv_python, "run", lane=name, **common)])
        if queued:
            result.queued = float(queued)
        if not self.args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        return result

    def fresh_shopmail(self, name: str) -> Path:
        data = self.workdir / f"run-{next(self.counter):03d}-{name}"
        shutil.copytree(self.shopmail_template, data)
        return data

    def run_shopmail(self, lane: str) -> Run:
        data = self.fresh_shopmail(lane)
        processes = 2 if lane == "L4x2" else 1
        argv = self.lanes_cmd(
            self.project_python, "run", lane="l4t" if lane == "L4t" else "l4", data=str(data),
            concurrency=self.args.concurrency,
        )  # fmt: skip
        name = data.name.replace("-", "_")
        env = {**self.database_env(self.run_database(name)), "SHOPMAIL_DATA_DIR": str(data)}
        if lane == "L4alt":  # another tree's src first on the path (its dependencies are this venv's)
            env["PYTHONPATH"] = os.pathsep.join([self.args.alt_src, env.get("PYTHONPATH", "")])
        result = self.measure(lane, [argv] * processes, env)
        if not self.args.keep:
            shutil.rmtree(data, ignore_errors=True)
            if self.drops and self.server_url:
                self.drops.pop()()
        return result

    def run_lane(self, lane: str) -> Run:
        if lane == "L0":
            return self.run_source(lane, self.args.size)
        if lane == "L0s":
            return self.run_source(lane, self.shopmail_size)
        if lane.startswith("L4"):
            return self.run_shopmail(lane)
        return self.run_plain(lane)

    # the rounds -----------------------------------------------------------------------------

    def throughput(self) -> dict[str, list[Run]]:
        lanes = self.args.lanes
        results: dict[str, list[Run]] = {lane: [] for lane in lanes}
        for r in range(self.args.runs):
            order = lanes[r % len(lanes) :] + lanes[: r % len(lanes)]
            for lane in order:
                run = self.run_lane(lane)
                results[lane].append(run)
                flag = "" if run.ok else f"  !! {run.note}"
                log(
                    f"round {r + 1}/{self.args.runs} {lane:>8}: {run.rate:8.0f} msg/s  "
                    f"({run.seconds:6.2f} s, lane CPU {run.cpu:5.2f} s, others {run.others:3.1f} cores)"
                    f"{flag}"
                )
        return results


# -- reporting ------------------------------------------------------------------------------------

WHAT = {
    "L0": "smtp-source -s 20 -d, {size} B (C ceiling)",
    "L0s": "smtp-source -s 20 -d, {shop} B (shopmail's size)",
    "L2": "Django, 1 reused connection, EmailMultiAlternatives",
    "L2n": "Django send_mail() per message (new connection each)",
    "L3po": "django-post_office send_queued_mail (1 proc x 5 thr)",
    "L3mailer": "django-mailer send_mail",
    "L4": "shopmail worker --once --concurrency {c}",
    "L4x2": "shopmail: 2 x worker --once --concurrency {c}",
    "L4t": "shopmail SMTP transport alone, {c} connections",
    "L4alt": "L4 with the code of --alt-src (an A/B in one run)",
}


def median_rate(runs: list[Run]) -> float:
    good = [run.rate for run in runs if run.ok]
    return statistics.median(good) if good else float("nan")


PROCESSES = {"L4": "one worker process", "L4x2": "--processes 2: one per core, README 'Scaling out'"}


def report(bench: Bench, results: dict[str, list[Run]]) -> dict[str, Any]:
    args = bench.args
    print()
    print(
        f"Throughput: N={bench.n} messages per run, {args.runs} runs per lane, lanes interleaved; "
        f"medians of the valid runs (all N accepted by the sink, none twice)."
    )
    header = (
        f"{'lane':<9} {'what':<53} {'msg/s':>7} {'min-max':>13} {'incl.start':>10} "
        f"{'CPU ms/msg':>10} {'others':>6}"
    )
    print(header)
    print("-" * len(header))
    summary: dict[str, Any] = {}
    for lane, runs in results.items():
        good = [run for run in runs if run.ok]
        rates = [run.rate for run in good]
        what = WHAT[lane].format(size=args.size, shop=bench.shopmail_size, c=args.concurrency)
        if not good:
            print(f"{lane:<9} {what:<53} no valid run: {runs[0].note if runs else ''}")
            continue
        med = statistics.median(rates)
        wall = statistics.median(bench.n / run.wall for run in good)
        cpu = statistics.median(run.cpu / run.n * 1000 for run in good)
        others = statistics.median(run.others for run in good)
        invalid = f"  ({len(runs) - len(good)} invalid)" if len(good) < len(runs) else ""
        print(
            f"{lane:<9} {what:<53} {med:7.0f} {min(rates):6.0f}-{max(rates):<6.0f} {wall:10.0f} "
            f"{cpu:10.2f} {others:6.2f}{invalid}"
        )
        summary[lane] = {"median": med, "runs": rates, "incl_start": wall, "cpu_ms_per_msg": cpu}
    for lane, runs in results.items():
        for run in runs:
            if run.note:
                print(f"  invalid {lane} run: {run.note}")
    queueing = {
        lane: statistics.median(run.queued for run in runs)
        for lane, runs in results.items()
        if runs and runs[0].queued
    }
    if queueing:
        print(
            "  queueing with the package's API before the clock (median): "
            + ", ".join(f"{lane} {seconds:.2f} s" for lane, seconds in queueing.items())
            + f"; shopmail's ingest of the {bench.n} e-mails: {bench.ingest_seconds:.2f} s (once)"
        )
    print(
        "  msg/s: GO (set-up done) until the command returned and the sink counted N; incl.start: "
        "from process start.\n  CPU ms/msg: the lane's own CPU (all threads) per message; others: "
        "average cores busy with anything else\n  (other engineers' jobs; sink and driver excluded) "
        "during the lane, of 2."
    )
    shopmail = {k: median_rate(results[k]) for k in ("L4", "L4x2") if k in results}
    l4 = shopmail.get("L4", float("nan"))
    best_l4 = max(shopmail.values(), default=float("nan"))
    l0 = median_rate(results.get("L0", []))
    l3s = {k: median_rate(results[k]) for k in ("L3po", "L3mailer") if k in results}
    print()
    if "L0" in results:
        for lane, rate in shopmail.items():
            ratio = rate / l0
            print(
                f"{lane + '/L0':<7} = {ratio:6.1%}   (target >= 50 %)   {'PASS' if ratio >= 0.5 else 'FAIL'}"
                f"   {PROCESSES[lane]}"
            )
            # issue 26 asks for >= 50 % in every run: each round against the same round's L0
            pairs = [
                mine.rate / floor.rate
                for mine, floor in zip(results[lane], results["L0"], strict=False)
                if mine.ok and floor.ok
            ]
            if pairs:
                print(
                    f"          per round: {', '.join(f'{r:.1%}' for r in pairs)}: "
                    f"{sum(r >= 0.5 for r in pairs)} of {len(pairs)} rounds >= 50 %"
                )
        if "L0s" in results:
            l0s = median_rate(results["L0s"])
            print(f"L4/L0s  = {l4 / l0s:6.1%}   (the ceiling at shopmail's message size)")
            if "L4t" in results:
                l4t = median_rate(results["L4t"])
                print(f"L4t/L0s = {l4t / l0s:6.1%}   (shopmail's transport alone, same messages)")
    for name, value in l3s.items():
        print(
            f"L4/{name:<6}= {l4 / value:6.2f}x   (target >= 8x)     {'PASS' if l4 / value >= 8 else 'FAIL'}"
        )
    if "L4alt" in results and "L4" in results:
        alt = median_rate(results["L4alt"])
        print(f"L4/L4alt = {l4 / alt:6.3f}   (this tree against --alt-src {bench.args.alt_src}, same run)")
    if "L4x2" in results:
        parts = [f"{best_l4 / l0:.1%} of L0"] if "L0" in results else []
        parts += [f"{best_l4 / v:.2f}x {k}" for k, v in l3s.items()]
        print(f"best shopmail (L4 or L4x2) = {best_l4:.0f} msg/s: " + ", ".join(parts))
    return summary


# -- latency ----------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency(bench: Bench) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from _lanes import bench_order

    args = bench.args
    workdir = bench.workdir
    dump = workdir / "latency-dump"
    sink = Sink(workdir, "latency-sink", dump_dir=dump)
    data = workdir / "latency-data"
    url, drop = _pg.database(bench.server_url, f"shopmail_bench_latency_{os.getpid()}")
    bench.drops.append(drop)
    env = {**bench.database_env(url), "SHOPMAIL_DATA_DIR": str(data)}
    if url:
        os.environ["DATABASE_URL"] = url  # the set-up and read-out steps below (bench.call)
    bench.call(bench.project_python, "latency-setup", "latency-setup", data=str(data), port=sink.port)
    key = subprocess.run(
        [bench.project_python, "-m", "shopmail.cli", "apikey", "create", "--name", "bench"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    port = free_port()
    separate = args.latency_worker == "separate"
    command = [str(bench.project_python), "-m", "shopmail.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    serve = subprocess.Popen(
        command + (["--no-worker"] if separate else []),
        env=env,
        stdout=open(workdir / "latency-serve.out", "w"),  # noqa: SIM115
        stderr=open(workdir / "latency-serve.log", "w"),  # noqa: SIM115
    )
    worker = None
    if separate:  # `shopmail worker` in a process of its own, woken by mail.wakeup
        worker = subprocess.Popen(
            [bench.project_python, "-m", "shopmail.cli", "worker", "--concurrency", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "latency-worker.log", "w"),  # noqa: SIM115
        )
    deadline = time.time() + 90
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.time() > deadline or serve.poll() is not None:
            raise SystemExit(f"shopmail serve did not come up; see {workdir / 'latency-serve.log'}")
        time.sleep(0.2)
    # the API key's first use verifies its Argon2 hash (~0.3 s, once per process; later uses
    # compare a SHA-256 digest): done before the clock, as in a server that has been up a while
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/messages?limit=1", headers={"Authorization": f"Bearer {key}"})
    assert conn.getresponse().status == 200
    conn.close()
    rate, total = args.latency_rate, int(args.latency_rate * args.latency_seconds)
    bodies = [json.dumps(bench_order(300000 + i)).encode() for i in range(total)]
    put_at: dict[str, float] = {}
    put_took: dict[str, float] = {}
    lag: list[float] = []
    put_time: list[float] = []
    errors: list[str] = []
    next_index = itertools.count()
    lock = threading.Lock()
    start = time.time() + 0.5
    busy0, self0 = busy_seconds(), self_cpu()
    serve_cpu0 = proc_cpu(serve.pid) + (proc_cpu(worker.pid) if worker is not None else 0.0)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        while True:
            with lock:
                i = next(next_index)
            if i >= total:
                break
            due = start + i / rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            order_id = str(300000 + i)
            began = time.time()
            try:
                conn.request("PUT", f"/api/v1/orders/{order_id}", body=bodies[i], headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"{order_id}: HTTP {response.status}")
            except OSError as exc:
                errors.append(f"{order_id}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            finished = time.time()
            with lock:
                put_at[order_id] = began
                put_took[order_id] = finished - began
                lag.append(began - due)
                put_time.append(finished - began)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_end = time.time()
    reached = sink.wait_for(2 * total, timeout=90)
    busy, own = busy_seconds() - busy0, self_cpu() - self0
    serve_cpu = proc_cpu(serve.pid) + (proc_cpu(worker.pid) if worker is not None else 0.0) - serve_cpu0
    span = time.time() - start
    for process in (serve, worker):
        if process is None:
            continue
        process.send_signal(signal.SIGINT if process is serve else signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    sink.stop()
    rows_path = workdir / "latency-db.json"
    bench.call(bench.project_python, "latency-db", "latency-db", data=str(data), out=str(rows_path))
    rows = json.loads(rows_path.read_text())
    order_of = {row["message_id"]: row["order"] for row in rows}
    arrived: dict[str, float] = {}
    for path in dump.iterdir():
        with open(path, "rb") as f:
            head = f.read(4096)
        for line in head.split(b"\n"):
            if line.lower().startswith(b"message-id:"):
                arrived[line.split(b":", 1)[1].strip().decode()] = path.stat().st_mtime_ns / 1e9
                break
    to_sink = [
        arrived[mid] - put_at[order] for mid, order in order_of.items() if mid in arrived and order in put_at
    ]
    by_second: dict[int, float] = {}  # the slowest message of the orders PUT in each second of the run
    put_by_second: dict[int, float] = {}  # and the slowest PUT response
    for mid, order in order_of.items():
        if mid in arrived and order in put_at:
            second = int(put_at[order] - start)
            by_second[second] = max(by_second.get(second, 0.0), arrived[mid] - put_at[order])
            put_by_second[second] = max(put_by_second.get(second, 0.0), put_took[order])
    db = [row["sent"] - row["created"] for row in rows if row["sent"]]
    result = {
        "orders": total,
        "rate": rate,
        "messages": len(rows),
        "arrived": len(arrived),
        "all_arrived": reached is not None,
        "put_to_sink": {"p50": percentile(to_sink, 50), "p99": percentile(to_sink, 99), "max": max(to_sink)},
        "created_to_sent": {"p50": percentile(db, 50), "p99": percentile(db, 99), "max": max(db)},
        "put": {"p50": percentile(put_time, 50), "p99": percentile(put_time, 99)},
        "client_lag_max": max(lag),
        "errors": errors[:5],
        "serve_cpu_cores": serve_cpu / span,
        "others_cores": max(0.0, (busy - serve_cpu - own) / span),
        "load_seconds": load_end - start,
    }
    ms = 1000
    print()
    print(
        f"Latency at {rate:g} orders/s for {result['load_seconds']:.1f} s ({total} orders -> "
        f"{len(rows)} messages, {len(arrived)} at the sink, {len(errors)} HTTP errors); "
        + (
            "shopmail serve --no-worker + shopmail worker --concurrency 4 (woken across processes):"
            if args.latency_worker == "separate"
            else "shopmail serve, worker in-process:"
        )
    )
    print(
        f"  PUT -> accepted by the sink:  p50 {result['put_to_sink']['p50'] * ms:6.0f} ms   "
        f"p99 {result['put_to_sink']['p99'] * ms:6.0f} ms   max {result['put_to_sink']['max'] * ms:6.0f} ms"
        f"   (issue 26 target at 50 orders/s, p99 <= 250 ms: "
        f"{'PASS' if result['put_to_sink']['p99'] <= 0.25 else 'FAIL'})"
    )
    print(
        f"  created_at -> sent_at (DB):   p50 {result['created_to_sent']['p50'] * ms:6.0f} ms   "
        f"p99 {result['created_to_sent']['p99'] * ms:6.0f} ms   "
        f"max {result['created_to_sent']['max'] * ms:6.0f} ms"
    )
    print(
        f"  PUT response time:            p50 {result['put']['p50'] * ms:6.0f} ms   "
        f"p99 {result['put']['p99'] * ms:6.0f} ms;  "
        f"client start lag max {result['client_lag_max'] * ms:.0f} ms;"
        f"  shopmail used {result['serve_cpu_cores']:.2f} cores (target at 50 orders/s <= 0.25), "
        f"others {result['others_cores']:.2f}"
    )
    print(
        "  slowest per second of the run (ms): "
        + " ".join(f"{by_second[second] * ms:.0f}" for second in sorted(by_second))
        + "\n  slowest PUT response per second (ms): "
        + " ".join(f"{put_by_second[second] * ms:.0f}" for second in sorted(put_by_second))
    )
    if errors:
        print(f"  errors: {errors[:5]}")
    if reached is None:
        print(
            f"  NOTE: only {len(arrived)} of {2 * total} messages reached the sink within 90 s after the "
            "load ended; the percentiles cover those only (the others were later still)."
        )
    return result


# -- profile ------------------------------------------------------------------------------------------

CATEGORIES = [
    ("idle: epoll wait (for the DB thread or the server)", ("select.epoll",)),
    ("render: Jinja2 templates, context, formatting", ("jinja2", "/mail/render/", "markupsafe", "babel")),
    ("render: links (django.core.signing)", ("signing.py", "/mail/links.py", "hmac", "_hashlib", "zlib")),
    ("MIME build (domain/mime.py, email.*)", ("/domain/mime.py", "/email/", "quopri", "binascii")),
    ("SQLite: execute/commit (incl. fsync)", ("sqlite3", "SQLiteCursorWrapper", "commit")),
    (
        "Django ORM (query building, model instances)",
        ("django/db", "django/utils/", "django/dispatch", "django/conf", "copy.py", "deconstruct"),
    ),
    ("logging (a JSON line per message)", ("logging/", "shopmail/logs.py", "orjson")),
    ("JSON (payload context)", ("json/",)),
    ("worker / compose / transport code", ("shopmail/mail/", "shopmail/store/", "shopmail/domain/")),
    ("asyncio + aiosmtplib + sockets", ("asyncio", "aiosmtplib", "selectors", "socket", "ssl")),
    ("thread hand-offs (executor, locks)", ("concurrent/futures", "threading.py", "_thread", "queue.py")),
]


def _category(filename: str, func: str) -> str:
    where = f"{filename} {func}"
    return next((label for label, keys in CATEGORIES if any(k in where for k in keys)), "")


def categorise(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time by area; a C builtin's time goes to the area of the Python code that called it."""
    totals: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        name = _category(filename, func)
        if name or filename != "~" or not callers:
            totals[name or "other"] = totals.get(name or "other", 0.0) + tottime
            continue
        for (caller_file, _caller_line, caller_func), timing in callers.items():
            name = _category(caller_file, caller_func) or "other"
            totals[name] = totals.get(name, 0.0) + timing[2]
    return sorted(totals.items(), key=lambda item: -item[1])


PHASES = {
    "settings": "settings (StoreSettings.load per batch)",
    "claim": "claim (one UPDATE ... RETURNING statement per batch)",
    "prepare": "prepare (read the stored bytes; compose what is not composed)",
    "renew": "renew the lease (at half-time only)",
    "send": "send (SMTP over the pool, pipelined, chunk by chunk)",
    "record": "record (outcomes + attempt rows per chunk, in the background)",
}
VARIANTS = {
    "as-is": "shopmail as it is (worker --once --concurrency C, wall-clock timers only;\n"
    "    database phases overlap the sending, so the shares can add up to more than 100 %)",
}


def print_phases(result: dict[str, Any]) -> None:
    wall, n = result["wall"], result["n"]
    print(
        f"  [{result['variant']}] {VARIANTS[result['variant']]}\n"
        f"    {result['sent']}/{n} sent in {wall:.2f} s = {n / wall:.0f} msg/s; "
        "per phase (s, ms per message, share):"
    )
    phases = result["phases"]
    accounted = 0.0
    for name, label in PHASES.items():
        seconds, calls = phases.get(name, [0.0, 0])
        accounted += seconds
        print(
            f"    {label:<62} {seconds:6.2f} s {seconds / n * 1000:6.3f} ms {seconds / wall:6.1%}  "
            f"({calls} calls)"
        )
        for sub, (sub_seconds, sub_calls) in sorted(phases.items()):
            if sub.startswith(name + "/"):
                print(
                    f"      {sub[len(name) + 1 :]:<60} {sub_seconds:6.2f} s "
                    f"{sub_seconds / n * 1000:6.3f} ms {sub_seconds / wall:6.1%}  ({sub_calls} calls)"
                )
    rest = wall - accounted
    print(
        f"    {'rest (wall minus the phases; negative = overlap)':<62} {rest:6.2f} s "
        f"{rest / n * 1000:6.3f} ms {rest / wall:6.1%}"
    )


def print_cprofile(base: str, result: dict[str, Any]) -> None:
    print(
        f"  [cProfile] as-is, {result['n']} messages, both threads profiled (cProfile slows Python code "
        f"down:\n    shares matter, not absolute times; the run took {result['wall']:.2f} s):"
    )
    for thread in ("db", "main"):
        stats = pstats.Stats(f"{base}.{thread}.pstats")
        total = stats.total_tt  # type: ignore[attr-defined]
        label = (
            "database thread (settings, claim, prepare = compose, renew, record)"
            if thread == "db"
            else "event-loop thread (SMTP; otherwise waits for the database thread)"
        )
        print(f"    {label}: {total:.2f} s")
        for name, seconds in categorise(stats):
            if seconds / total >= 0.01:
                print(f"      {name:<50} {seconds:6.2f} s {seconds / total:6.1%}")
    stats = pstats.Stats(f"{base}.pstats")
    print("    top functions by own time (both threads):")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:15]  # type: ignore[attr-defined]
    for (filename, line, func), (_cc, nc, tottime, cumtime, _callers) in rows:
        short = filename.split("site-packages/")[-1].split("/src/")[-1]
        print(f"      {tottime:6.2f} s {cumtime:6.2f} s cum {nc:>8} calls  {short}:{line} {func}"[:150])
    print(f"    full profile: .venv/bin/python -m pstats {base}.pstats")


def profile(bench: Bench) -> dict[str, Any]:
    print()
    print(f"Profile of shopmail's lane (more L4 runs on fresh copies of the same {bench.n} queued e-mails):")
    out: dict[str, Any] = {}
    steps = [("as-is", False), ("as-is", True)]
    for variant, cprofile in steps:
        data = bench.fresh_shopmail("profile")
        url = bench.run_database(data.name.replace("-", "_"))
        if url:
            os.environ["DATABASE_URL"] = url  # the profiling step below (bench.call)
        base = str(bench.workdir / f"profile-{variant}{'-cprofile' if cprofile else ''}")
        got = bench.call(
            bench.project_python, "profile", Path(base).name,
            data=str(data), out=base, cprofile=cprofile, concurrency=bench.args.concurrency,
            variant=variant, limit=min(bench.n, 1000) if cprofile else 0,
        )  # fmt: skip
        result = json.loads(got["PROFILED"][0])
        out[f"{variant}{'-cprofile' if cprofile else ''}"] = result
        if cprofile:
            print_cprofile(base, result)
        else:
            print_phases(result)
        if not bench.args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return out


# -- main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="messages per lane run (default 2000; even)")
    parser.add_argument("--runs", type=int, default=5, help="runs per lane (default 5)")
    parser.add_argument("--lanes", default=DEFAULT_LANES, help=f"comma-separated, of {','.join(ALL_LANES)}")
    parser.add_argument("--size", type=int, default=4096, help="L0 message size in bytes (default 4096)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="shopmail worker --concurrency (default 16)"
    )
    parser.add_argument("--latency-rate", type=float, default=50.0, help="orders/s for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument(
        "--latency-worker",
        choices=("inprocess", "separate"),
        default="inprocess",
        help="latency run: the worker inside `shopmail serve` (default), or `serve --no-worker` "
        "plus a `shopmail worker` process",
    )
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--workdir", default="/tmp/shopmail-bench-delivery")
    parser.add_argument("--venv", default="/tmp/shopmail-bench-venv")
    parser.add_argument("--keep", action="store_true", help="keep every run's data dir and database")
    parser.add_argument("--alt-src", default="", help="lane L4alt: L4 run with this src tree's code")
    _pg.add_argument(parser)
    args = parser.parse_args()
    args.n += args.n % 2
    args.lanes = [lane.strip() for lane in args.lanes.split(",") if lane.strip()]
    unknown = set(args.lanes) - set(ALL_LANES)
    if unknown:
        parser.error(f"unknown lane(s) {sorted(unknown)}; choose from {ALL_LANES}")
    if "L4alt" in args.lanes and not args.alt_src:
        parser.error("lane L4alt needs --alt-src DIR (another tree's src directory)")

    ensure_postfix_tools()
    with _pg.server(args.postgres) as server_url:
        args.server_url = server_url
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    started = time.time()
    load = os.getloadavg()
    bench = Bench(args)
    try:
        print(
            f"shopmail delivery benchmark: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f} at start; Python {sys.version.split()[0]}; "
            f"{package_versions(bench.venv_python)}; postfix smtp-sink on 127.0.0.1:{bench.sink.port}; "
            f"shopmail on {'PostgreSQL' if bench.server_url else 'SQLite'}",
            flush=True,
        )
        bench.prepare()
        print(
            "shopmail messages: order_confirmed + admin_order_placed, "
            f"mean {bench.shopmail_size} bytes on the wire; L2/L3 send the same order_confirmed body.",
            flush=True,
        )
        results = bench.throughput()
        summary = report(bench, results)
        extra: dict[str, Any] = {}
        if not args.no_latency:
            extra["latency"] = latency(bench)
        if not args.no_profile:
            extra["profile"] = profile(bench)
        load = os.getloadavg()
        print(
            f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end; "
            f"took {time.time() - started:.0f} s; logs in {bench.workdir}"
        )
        (bench.workdir / "results.json").write_text(
            json.dumps(
                {
                    "summary": summary,
                    "runs": {k: [vars(r) for r in v] for k, v in results.items()},
                    **extra,
                },
                indent=1,
                default=str,
            )
        )
    finally:
        with contextlib.suppress(Exception):
            bench.sink.stop()
        for drop in bench.drops:
            with contextlib.suppress(Exception):
                drop()


if __name__ == "__main__":
    main()
