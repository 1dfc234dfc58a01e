"""``/metrics`` lines for deliverability: reports received by kind, suppressions by reason."""

from __future__ import annotations

from django.db.models import Count

from shopmail.mail.deliverability.models import BounceReport, Reason, Suppression

KINDS = ("bounce", "delay", "complaint", "unknown")


def section() -> list[str]:
    reports = dict(BounceReport.objects.values_list("kind").annotate(n=Count("id")).order_by())
    permanent = BounceReport.objects.filter(permanent=True).count()
    suppressed = dict(Suppression.objects.values_list("reason").annotate(n=Count("id")).order_by())
    lines = [
        "# HELP shopmail_bounce_reports_total Recipients of bounce and complaint reports received, by kind.",
        "# TYPE shopmail_bounce_reports_total counter",
        *(f'shopmail_bounce_reports_total{{kind="{kind}"}} {reports.get(kind, 0)}' for kind in KINDS),
        "# HELP shopmail_hard_bounces_total Permanent (5.x.x) failures reported after the relay accepted.",
        "# TYPE shopmail_hard_bounces_total counter",
        f"shopmail_hard_bounces_total {permanent}",
        "# HELP shopmail_suppressions Addresses shopmail does not mail, by reason.",
        "# TYPE shopmail_suppressions gauge",
        *(f'shopmail_suppressions{{reason="{r}"}} {suppressed.get(r, 0)}' for r in Reason.values),
    ]
    return lines
