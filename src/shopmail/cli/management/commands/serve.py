"""``shopmail serve``: migrate, then serve the web app (and run the worker unless --no-worker)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from shopmail.core import secretbox
from shopmail.sqlite import checkpoint
from shopmail.store.models import StoreSettings

log = logging.getLogger("shopmail.serve")


def waitress_limits() -> dict[str, Any]:
    """Waitress settings against floods and slow clients (README "Security": run behind nginx)."""
    from shopmail.core import http_guard

    return {
        "max_request_header_size": http_guard.MAX_HEADER_BYTES,
        "max_request_body_size": http_guard.SYNC_BODY,
        "channel_timeout": 30,
        "cleanup_interval": 5,
        "connection_limit": 1000,
        "backlog": 2048,
    }


def _answering(paths: list[str]) -> list[str]:
    """Those of ``paths`` that answer 200 here (the banner names only pages that exist)."""
    from django.test import Client

    client = Client(raise_request_exception=False)
    found = []
    for path in paths:
        try:
            if client.get(path, follow=True).status_code == 200:
                found.append(path)
        except Exception:  # noqa: S112  # a page that fails is left out of the banner, nothing more
            continue
    return found


class Command(BaseCommand):
    help = "Run the web app (API, control panel, My page) and, unless --no-worker, the delivery worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="web only; run `shopmail worker` elsewhere"
        )
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings
        from waitress import serve

        call_command("migrate", interactive=False, verbosity=0)
        store = StoreSettings.load()
        resealed = secretbox.sealed_transport(store.transport)
        if resealed is not None:  # an SMTP password an older version stored in plain text
            store.transport = resealed
            store.save(update_fields=["transport", "updated_at"])
        call_command("collectstatic", interactive=False, verbosity=0)
        from shopmail.mail import warmup
        from shopmail.wsgi import application  # after collectstatic: WhiteNoise indexes STATIC_ROOT at start

        warmup.warm()  # templates compiled before the first order, not by it
        warmup.settle()  # and start-up's objects kept out of the garbage collector's full runs

        stop = threading.Event()
        checkpointer = checkpoint.start(stop)  # the WAL's checkpoints off the writers' path (SQLite)
        worker_thread = None
        if not options["no_worker"]:
            from shopmail.mail.worker import run_in_thread

            worker_thread = run_in_thread(stop)
        url = f"http://{options['host']}:{options['port']}"
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(
            f"shopmail on {url}  (data: {settings.DATA_DIR}, database: {engine})\n"
            + "".join(f"  API docs:      {url}{path}\n" for path in _answering(["/api/docs"]))
            + f"  Transport:     {store.transport.get('kind')}"
            + (
                f" (mail is written to {settings.DATA_DIR / 'captured-mail'})"
                if store.transport.get("kind") == "capture"
                else ""
            )
            + "\n  Worker:        "
            + ("in this process" if worker_thread else "off (--no-worker)")
            + "\n  Next steps:    shopmail apikey create --name shop"
            + "   |   shopmail createadmin --email you@shop"
        )
        try:
            serve(
                application,
                host=options["host"],
                port=options["port"],
                threads=options["threads"],
                ident="shopmail",
                # Behind a proxy named in SHOPMAIL_TRUSTED_PROXIES, X-Forwarded-For/-Proto must reach
                # shopmail.core.client_ip (which believes them only from those proxies); waitress
                # would otherwise drop them, and every visitor would share the proxy's address.
                clear_untrusted_proxy_headers=not settings.SHOPMAIL_TRUSTED_PROXIES,
                # issue 19: refuse oversized requests in waitress already (431/413 from the
                # headers, before a body is spooled), close idle connections after 30 s and keep
                # room for many of them (110 idle sockets blocked all new ones at the default 100)
                **waitress_limits(),
            )
        finally:
            stop.set()
            if worker_thread is not None:
                worker_thread.join(timeout=30)
            if checkpointer is not None:
                checkpointer.thread.join(timeout=5)
