"""A bounce or complaint report in, its consequences out (SPEC section 9).

* a permanent (5.x.x) failure: the message is ``bounced`` with the server's words, the address
  is suppressed for all mail, ``message.bounced`` and ``customer.suppressed`` go to the feed;
* a transient one (4.x.x, a delay): noted on the message's history, nothing else;
* a complaint (ARF): the address is suppressed for newsletters and every receiver of
  :data:`complaint_received` (the newsletter app: an opt-out) is told; order mail still goes.

The message is found by the VERP envelope recipient the report came to, else by the
Message-ID the report quotes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.dispatch import Signal

from shopmail.domain import bounces
from shopmail.mail.deliverability import suppression, verp
from shopmail.mail.deliverability.models import BounceReport, Reason, Scope
from shopmail.mail.models import Message, Status
from shopmail.store import feed

log = logging.getLogger("shopmail.bounces")

# Sent with ``email`` (normalised) and ``message`` (a Message or None) for each complaint.
complaint_received = Signal()

MAX_REPORT_BYTES = 1_000_000


@dataclass
class Outcome:
    kind: str
    message: int | None = None
    bounced: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "message": self.message,
            "bounced": self.bounced,
            "suppressed": self.suppressed,
            "noted": self.noted,
        }


_DELIVERED_TO = re.compile(rb"(?im)^(?:delivered-to|x-original-to|to):[ \t]*(.{1,500}?)\r?$")


def _report_addressees(raw: bytes) -> list[str]:
    """Where the report was delivered, as the receiving MTA wrote it into its top header
    (Postfix's ``Delivered-To``/``X-Original-To``): the VERP address when the report reached
    shopmail through a mailbox or a relay that forwards it to the API."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:20_000]
    found: list[str] = []
    for value in _DELIVERED_TO.findall(head):
        for word in value.decode("ascii", "replace").replace(",", " ").split():
            if "@" in word:
                found.append(word.strip("<>\"'"))
    return found


def _find_message(report: bounces.Report, envelope_to: Sequence[str]) -> Message | None:
    for address in envelope_to:
        pk = verp.message_pk(address)
        if pk is not None:
            found = Message.objects.filter(pk=pk).first()
            if found is not None:
                return found
    if report.original_message_id:
        message_id = report.original_message_id.strip()
        if not message_id.startswith("<"):
            message_id = f"<{message_id}>"
        return Message.objects.filter(message_id=message_id).order_by("-pk").first()
    return None


def receive(raw: bytes, envelope_to: Sequence[str] = (), via: str = "api") -> Outcome:
    """Read one report and act on it, all in one transaction. Never raises for bad bytes."""
    report = bounces.parse_report(raw[:MAX_REPORT_BYTES])
    with transaction.atomic():
        message = _find_message(report, [*envelope_to, *_report_addressees(raw)])
        outcome = Outcome(report.kind, message.pk if message else None)
        recipients = report.recipients
        if not recipients and message is not None and report.kind in ("bounce", "complaint"):
            recipients = (bounces.RecipientStatus(email=message.to_email),)
        for rcpt in recipients:
            _one(report, rcpt, message, via, outcome, only=len(recipients) == 1)
    log.info(
        "bounce report",
        extra={"kind": report.kind, "message_id": outcome.message, "suppressed": len(outcome.suppressed)},
    )
    return outcome


def _one(
    report: bounces.Report,
    rcpt: bounces.RecipientStatus,
    message: Message | None,
    via: str,
    outcome: Outcome,
    only: bool,
) -> None:
    email = suppression.normalize(rcpt.email) if rcpt.email else ""
    mine: Message | None = None
    if message is not None:
        address = suppression.normalize(message.to_email)
        # The one recipient of a report about our message is that message's recipient, whatever
        # address a forwarder delivered to; in a report for several, each is matched by address.
        if only or not email or email == address:
            mine, email = message, address
    BounceReport.objects.create(
        kind=report.kind,
        email=email,
        status=rcpt.status,
        diagnostic=rcpt.diagnostic[:2000],
        permanent=report.kind == "bounce" and rcpt.permanent,
        message=mine,
        via=via,
    )
    if report.kind == "complaint" and email:
        if suppression.suppress(email, Reason.COMPLAINT, Scope.NEWSLETTER, report.feedback_type, _pk(mine)):
            outcome.suppressed.append(email)
        complaint_received.send(sender=Message, email=email, message=mine)
        return
    if report.kind == "bounce" and rcpt.permanent and email:
        if mine is not None and mine.status != Status.BOUNCED:
            detail = " ".join(part for part in (rcpt.status, rcpt.diagnostic) if part)
            Message.objects.filter(pk=mine.pk).update(
                status=Status.BOUNCED, last_error=f"bounced: {detail}"[:2000]
            )
            feed.record(
                "message.bounced",
                {"message": mine.pk, "to": email, "status": rcpt.status, "diagnostic": rcpt.diagnostic[:500]},
            )
            outcome.bounced.append(email)
        if suppression.suppress(
            email, Reason.HARD_BOUNCE, Scope.ALL, rcpt.diagnostic or rcpt.status, _pk(mine)
        ):
            outcome.suppressed.append(email)
        return
    if email:
        outcome.noted.append(email)


def _pk(message: Message | None) -> int | None:
    return message.pk if message is not None else None
