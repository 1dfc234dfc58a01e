"""Reading bounce and complaint reports: RFC 3464 delivery status notifications, RFC 5965 feedback.

Plain Python (the standard library's ``email`` parser, no Django, no I/O). ``parse_report`` takes
the raw bytes of a report as it arrived (by SMTP or the API) and says what it reports:

* ``bounce`` — at least one recipient failed for good (a ``5.x.x`` status, or ``Action: failed``
  with no status): the message bounced and the address should be suppressed;
* ``delay`` — the mail is still being tried (``4.x.x``, ``Action: delayed``): noted only;
* ``complaint`` — a feedback report (ARF) of type abuse, fraud, opt-out, ...: the recipient
  marked the mail as spam or asked to stop;
* ``unknown`` — anything else (an auto-reply, a DMARC failure report, a message that is no
  report at all, a report too broken to read). Never an exception for bad input.

Many servers still send bounces as plain text (Exim, older Gmail, Exchange whose report part
is missing): then the failed recipients come from ``X-Failed-Recipients`` or the text, and the
status from the first enhanced status code (``5.1.1``) or SMTP reply code (``550``) in it.
With VERP (``bounces+<token>@domain``) the message is known from the envelope anyway; the
report adds the status and the server's words.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Literal

Kind = Literal["bounce", "delay", "complaint", "unknown"]

MAX_REPORT_BYTES = 2_000_000  # a report is small; the returned original is cut at this size
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "opt-out", "not-spam", "virus", "other"})
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?<![\d.])([45])\d\d(?![\d.])")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class RecipientStatus:
    """What the report says of one recipient."""

    email: str
    action: str = ""  # failed, delayed, delivered, relayed, expanded; "" when not said
    status: str = ""  # the enhanced status code, e.g. "5.1.1"; "" when none was found
    diagnostic: str = ""  # the remote server's words, unfolded

    @property
    def permanent(self) -> bool:
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"

    @property
    def transient(self) -> bool:
        if self.status:
            return self.status.startswith("4")
        return self.action == "delayed"


@dataclass(frozen=True)
class Report:
    kind: Kind
    recipients: tuple[RecipientStatus, ...] = ()
    original_message_id: str = ""  # the Message-ID of the mail the report is about, "" if unknown
    feedback_type: str = ""  # for complaints: abuse, opt-out, ...

    @property
    def failed(self) -> tuple[RecipientStatus, ...]:
        return tuple(r for r in self.recipients if r.permanent)


def _text(value: object) -> str:
    return _SPACE.sub(" ", str(value or "")).strip()


def _address(value: object) -> str:
    """``rfc822; a@b`` / ``<a@b>`` / ``a@b`` -> ``a@b`` (lower-cased domain); "" if none."""
    text = _text(value)
    if ";" in text:
        text = text.split(";", 1)[1].strip()
    address = (parseaddr(text)[1] or text.strip("<> ")).strip("'\"`")
    if "@" not in address or any(c in address for c in " \r\n<>,;"):
        return ""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _status(value: object) -> str:
    match = _STATUS.search(_text(value))
    return ".".join(match.groups()) if match else ""


def _diagnostic(value: object) -> str:
    text = _text(value)
    kind, sep, rest = text.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else text


def _parse(raw: bytes) -> Message | None:
    try:
        return email.message_from_bytes(raw[:MAX_REPORT_BYTES], policy=email.policy.compat32)
    except Exception:  # the stdlib parser is lenient; anything it still raises means "not readable"
        return None


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):  # not parsed as blocks (an unusual content type spelling)
        return [email.message_from_string(block) for block in re.split(r"\r?\n\r?\n", payload) if block]
    return []


def _original(message: Message) -> Message | None:
    """The returned original (message/rfc822) or its headers (text/rfc822-headers)."""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if ctype in ("text/rfc822-headers", "text/rfc822-header"):
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                return email.message_from_bytes(body, policy=email.policy.compat32)
    return None


def _dsn_recipients(blocks: list[Message]) -> list[RecipientStatus]:
    recipients = []
    for block in blocks:
        address = _address(block.get("Final-Recipient")) or _address(block.get("Original-Recipient"))
        if not address:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        recipients.append(
            RecipientStatus(
                email=address,
                action=_text(block.get("Action")).lower().split(" ")[0],
                status=_status(block.get("Status")),
                diagnostic=_diagnostic(block.get("Diagnostic-Code")),
            )
        )
    return recipients


_FINAL_RECIPIENT = re.compile(r"^final-recipient:", re.I | re.M)


def _loose_dsn_blocks(raw: bytes) -> list[Message]:
    """Delivery-status fields found in the raw text when the MIME structure is broken (a boundary
    line indented, a part cut off): every blank-line separated block naming a Final-Recipient."""
    text = raw[:MAX_REPORT_BYTES].decode("utf-8", "replace").replace("\r\n", "\n")
    return [
        email.message_from_string(block.strip())
        for block in re.split(r"\n[ \t]*\n", text)
        if _FINAL_RECIPIENT.search(block.strip())
    ]


def _readable_text(message: Message) -> str:
    """The human-readable part of a report (plain text; the first text part of a multipart)."""
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_content_type() != "text/plain":
            if part.get_content_maintype() == "message":
                break
            continue
        body = part.get_payload(decode=True)
        if isinstance(body, bytes):
            charset = part.get_content_charset() or "utf-8"
            try:
                return body.decode(charset, "replace")
            except LookupError:
                return body.decode("utf-8", "replace")
    return ""


_ORIGINAL_MARKERS = re.compile(
    r"^(-+ ?(original message|this is a copy of the message)|original message headers:)", re.I | re.M
)


def _plain_text_recipients(message: Message) -> list[RecipientStatus]:
    """A bounce without a delivery-status part: who failed, and the first code in the text."""
    text = _readable_text(message)
    marker = _ORIGINAL_MARKERS.search(text)
    report_text = text[: marker.start()] if marker else text
    header = message.get("X-Failed-Recipients")
    own = {_address(message.get("From")), _address(message.get("To"))}
    if header:
        addresses = [_address(a) for _, a in getaddresses([str(header)])]
    else:
        addresses = [_address(a.strip("'`")) for a in _ADDRESS.findall(report_text)]
    seen: dict[str, None] = {}
    for address in addresses:
        if address and address not in own:
            seen.setdefault(address, None)
    if not seen:
        return []
    status = _status(report_text)
    if not status:
        code = _SMTP_CODE.search(report_text)
        status = f"{code.group(1)}.0.0" if code else ""
    lines = [ln.strip() for ln in report_text.splitlines() if status and status in ln]
    line = next((ln for ln in lines if _SMTP_CODE.search(ln.split(status)[0])), lines[0] if lines else "")
    if not line:
        code = _SMTP_CODE.search(report_text)
        if code:
            line = report_text[code.start() :].splitlines()[0].strip()
    return [
        RecipientStatus(
            email=address,
            action="failed" if status.startswith("5") else "",
            status=status,
            diagnostic=_text(line),
        )
        for address in seen
    ]


def _kind(recipients: list[RecipientStatus]) -> Kind:
    if any(r.permanent for r in recipients):
        return "bounce"
    if any(r.transient for r in recipients):
        return "delay"
    return "unknown"


def _message_id(original: Message | None) -> str:
    return _text(original.get("Message-ID")) if original is not None else ""


def parse_report(raw: bytes) -> Report:
    """What a report says (see the module docstring); ``Report("unknown")`` when it says nothing."""
    message = _parse(raw)
    if message is None:
        return Report("unknown")
    original = _original(message)
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            fields = _field_blocks(part)
            block = fields[0] if fields else Message()
            feedback_type = _text(block.get("Feedback-Type")).lower()
            if feedback_type not in COMPLAINT_TYPES:
                return Report("unknown", (), _message_id(original), feedback_type)
            rcpt = [_address(block.get(name)) for name in ("Original-Rcpt-To", "Removal-Recipient")]
            if original is not None:
                rcpt += [_address(a) for _, a in getaddresses(original.get_all("To") or [])]
            seen = dict.fromkeys(a for a in rcpt if a)
            return Report(
                "complaint",
                tuple(RecipientStatus(email=a, action="complained") for a in seen),
                _message_id(original),
                feedback_type,
            )
        if ctype == "message/delivery-status":
            recipients = _dsn_recipients(_field_blocks(part))
            if recipients:
                return Report(_kind(recipients), tuple(recipients), _message_id(original))
    recipients = _dsn_recipients(_loose_dsn_blocks(raw)) or _plain_text_recipients(message)
    if not recipients:
        return Report("unknown", original_message_id=_message_id(original))
    return Report(_kind(recipients), tuple(recipients), _message_id(original))
