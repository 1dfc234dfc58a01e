"""PostgreSQL for the bench scripts: a given server, or a throwaway cluster started and stopped here.

``--postgres URL`` uses that server (a fresh database per lane, dropped afterwards);
``--postgres`` without a URL starts a cluster of Debian's PostgreSQL 15 (/usr/lib/postgresql/15/bin)
in a temporary directory on a free port, and removes it at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PG_BIN = Path("/usr/lib/postgresql/15/bin")
AUTO = "auto"


def add_argument(parser: object) -> None:
    parser.add_argument(  # type: ignore[attr-defined]
        "--postgres",
        nargs="?",
        const=AUTO,
        default="",
        metavar="URL",
        help="run on PostgreSQL: a server URL (a throwaway database is made per lane), or no URL "
        f"for a throwaway cluster of {PG_BIN} started and stopped by the script",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@contextlib.contextmanager
def server(option: str) -> Iterator[str]:
    """The server URL to use ('' for SQLite); a throwaway cluster lives as long as the context."""
    if not option:
        yield ""
        return
    if option != AUTO:
        yield option
        return
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"--postgres without a URL needs Debian's PostgreSQL in {PG_BIN}")
    tmp = Path(tempfile.mkdtemp(prefix="shopmail-bench-pg-"))
    data, port = tmp / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]), **quiet
    )  # type: ignore[call-overload]
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c max_connections=100"
    pg_ctl = str(PG_BIN / "pg_ctl")
    subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(tmp / "log"), "-w", "start"]), **quiet
    )  # type: ignore[call-overload]
    print(f"throwaway PostgreSQL 15 cluster on port {port} ({data})", flush=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


def database(server_url: str, name: str, template: str = "") -> tuple[str, Callable[[], None]]:
    """A fresh database on the server (a copy of ``template`` if given) and a callable that
    drops it ('' and a no-op for SQLite)."""
    if not server_url:
        return "", lambda: None
    import psycopg

    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop
