"""Hooks the connectors app registers at start-up: its ``/metrics`` lines and the scheduled pull
the delivery worker runs (``connectors.<platform>.pull_every_minutes``)."""

from __future__ import annotations


def register() -> None:
    from shopmail.connectors import inbound
    from shopmail.mail import metrics

    metrics.register(inbound.metrics)
