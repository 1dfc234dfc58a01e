"""Sending a newsletter: freeze its recipient list, then queue each recipient exactly once.

Two steps, both safe to repeat:

1. ``freeze``: the segment is evaluated once and stored as ``Recipient`` rows (one per customer,
   one per address), and the newsletter stops being editable.
2. ``queue_pending``: recipients without a message are queued in chunks, each chunk one
   transaction (messages, payloads and the link from recipient to message together). A message's
   key is ``newsletter:<newsletter id>:<customer id>`` and a chunk skips keys that already exist,
   so a double click, two API calls at once, or a crash and a restart half-way queue nobody
   twice; sending again simply resumes.

Without a rate limit a chunk is a few set-based statements (``_queue_chunk``: 100,000
recipients in about 2 s, issue 26); on PostgreSQL ``send`` freezes and queues the whole list in
one statement, each recipient inserted with its message and payload (ADR 0014). The payload
names only the newsletter; the recipient's personal parts (name, address, unsubscribe link and
headers, language) are read from the recipient row when the worker composes (``complete``, one
query per worker batch). With a rate limit every message gets its own due time, so recipients
are queued object by object (``_queue_batch``), their personal parts in the payload. Either way
the shared parts are rendered once per newsletter when the worker composes (``mailing``). Bulk
priority lets order mail overtake a newsletter in the queue. A rate limit spaces the messages'
due times 3600/rate seconds apart; a scheduled send starts them at that time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from shopmail.account import customers
from shopmail.db import fast_update
from shopmail.domain import mime
from shopmail.mail import outbox, wakeup
from shopmail.mail.deliverability.models import Suppression
from shopmail.mail.models import Message, Payload, Priority, Status
from shopmail.newsletter import consent, segments
from shopmail.newsletter.models import Newsletter, NewsletterStatus, Recipient
from shopmail.store.models import Customer, StoreSettings

BATCH = 2000  # recipients per transaction when a rate limit spaces their due times
CHUNK = 20_000  # recipients per transaction of the set-based path (no rate limit)
NOTIFICATION = "newsletter"
MAX_TEST_ADDRESSES = 20


class SendError(ValueError):
    """The newsletter cannot be sent as asked; ``errors`` as ``{"loc": [...], "msg": ...}``."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(e["msg"] for e in errors))
        self.errors = errors


def message_key(newsletter_id: int, customer_id: int) -> str:
    return f"newsletter:{newsletter_id}:{customer_id}"


def customer_context(customer: Customer) -> dict[str, Any]:
    """``customer.*`` for one recipient, as order e-mails have it (phone included)."""
    return customers.customer_dict(customer)


def recipient_context(
    newsletter_id: int, revision: Any, customer_id: int, person: dict[str, Any]
) -> dict[str, Any]:
    """The payload context of one recipient: small, the content is referenced by id."""
    link = consent.url(customer_id, newsletter_id)
    return {
        "newsletter_id": newsletter_id,
        "newsletter_revision": revision,
        "customer": {"id": person["external_id"], **{k: v for k, v in person.items() if k != "external_id"}},
        "extras": {"unsubscribe_url": link},
        "headers": consent.headers(link),
    }


def filters_of(newsletter: Newsletter) -> dict[str, Any]:
    return dict(
        newsletter.segment.filters if newsletter.segment_id and newsletter.segment else newsletter.filters
    )


def validate_for_sending(newsletter: Newsletter) -> None:
    errors = []
    if not newsletter.subject.strip():
        errors.append({"loc": ["subject"], "msg": "a newsletter needs a subject"})
    if not (newsletter.html.strip() or newsletter.text.strip()):
        errors.append({"loc": ["html"], "msg": "a newsletter needs some content (HTML or text)"})
    if errors:
        raise SendError(errors)


def _insert_recipients(newsletter: Newsletter, customers: QuerySet[Customer]) -> int:
    """The segment as recipient rows, in one statement: one row per address (its first customer),
    numbered in customer order."""
    segment_sql, params = customers.values(cid=F("pk"), addr=F("email")).query.sql_with_params()
    table = connection.ops.quote_name(Recipient._meta.db_table)
    suppressed = connection.ops.quote_name(Suppression._meta.db_table)
    # identifiers from model metadata and Django's own compiled query; values are parameters.
    # A suppressed address (bounced, complained) is frozen as skipped: counted, never queued.
    sql = (
        f"INSERT INTO {table} (newsletter_id, customer_id, position, email, language, skipped)"
        " SELECT %s, MIN(seg.cid), ROW_NUMBER() OVER (ORDER BY MIN(seg.cid)) - 1, MIN(seg.addr), '',"
        f" CASE WHEN LOWER(TRIM(MIN(seg.addr))) IN (SELECT email FROM {suppressed})"
        " THEN 'suppressed' ELSE '' END"
        f" FROM ({segment_sql}) seg GROUP BY LOWER(TRIM(seg.addr))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [newsletter.pk, *params])
        return max(cursor.rowcount, 0)


def _insert_recipients_queued(
    newsletter: Newsletter, customers: QuerySet[Customer], settings: StoreSettings
) -> int:
    """PostgreSQL, no rate limit: ``_insert_recipients`` and ``_queue_chunk`` of every chunk in one
    statement, each recipient born with its message and payload (ADR 0014). Nothing is looked up
    or updated afterwards: on PostgreSQL, updating 100,000 recipients to link them was a third
    of queueing. A suppressed address is frozen as skipped, with no message."""
    segment_sql, params = customers.values(cid=F("pk"), addr=F("email")).query.sql_with_params()
    q = connection.ops.quote_name
    r, messages, payloads, people, _key, columns, _keyed, language = _names()
    suppressed = q(Suppression._meta.db_table)
    parts = _chunk(newsletter, settings)
    # identifiers from model metadata and Django's own compiled query; values are parameters
    sql = (
        "WITH seg AS MATERIALIZED (SELECT MIN(seg.cid) AS cid, MIN(seg.addr) AS addr,"
        " ROW_NUMBER() OVER (ORDER BY MIN(seg.cid)) - 1 AS pos,"
        f" LOWER(TRIM(MIN(seg.addr))) IN (SELECT email FROM {suppressed}) AS barred"
        f" FROM ({segment_sql}) seg GROUP BY LOWER(TRIM(seg.addr))),"
        " todo AS MATERIALIZED (SELECT seg.cid, seg.addr, seg.pos, seg.barred, c.email,"
        f" {language} AS lang, CASE WHEN seg.barred THEN NULL"
        " ELSE nextval(pg_get_serial_sequence(%s, 'id')) END AS mid"
        f" FROM seg JOIN {people} c ON c.id = seg.cid),"
        f" made AS (INSERT INTO {messages} (id, {columns}) SELECT mid, CAST(%s AS TEXT) || cid, %s, email,"
        " %s, %s, %s, '', NULL, 0, NULL, NULL, CAST(%s AS TEXT) || pos || CAST(%s AS TEXT), %s, NULL, ''"
        " FROM todo WHERE mid IS NOT NULL),"
        f" paid AS (INSERT INTO {payloads} (message_id, language, context, reply_to, subject, text, html,"
        " raw, template_version) SELECT mid, lang, CAST(%s AS JSONB), '', '', '', '', NULL, ''"
        " FROM todo WHERE mid IS NOT NULL)"
        f" INSERT INTO {r} (newsletter_id, customer_id, position, email, language, skipped, message_id)"
        " SELECT %s, cid, pos, addr, CASE WHEN barred THEN '' ELSE lang END,"
        " CASE WHEN barred THEN 'suppressed' ELSE '' END, mid FROM todo"
    )
    values = [
        *params, parts.language, messages,  # the table's name, quoted, for its sequence
        parts.key, NOTIFICATION, Status.QUEUED, Priority.BULK, parts.due_at, *parts.message_ids,
        _adapt(timezone.now()), parts.context, newsletter.pk,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        _execute(cursor, sql, values)
        return max(cursor.rowcount, 0)


def freeze(
    newsletter_id: int,
    *,
    at: dt.datetime | None = None,
    rate_per_hour: int | None = None,
    settings: StoreSettings | None = None,
    queue: bool = False,
) -> Newsletter:
    """Fix the recipient list (once; later calls change nothing). With ``queue`` on PostgreSQL
    and no rate limit, the recipients' messages are queued in the same statement (``send``)."""
    settings = settings or StoreSettings.load()
    with transaction.atomic():
        newsletter = Newsletter.objects.select_for_update().get(pk=newsletter_id)
        if newsletter.status != NewsletterStatus.DRAFT:
            return newsletter
        validate_for_sending(newsletter)
        try:
            filters = segments.clean(filters_of(newsletter))
        except segments.SegmentError as exc:
            raise SendError(exc.errors) from None
        newsletter.status = NewsletterStatus.SENDING
        newsletter.filters = filters
        newsletter.scheduled_at = at
        newsletter.rate_per_hour = rate_per_hour or None
        newsletter.send_started_at = timezone.now()
        customers = segments.queryset(filters, settings.default_language)
        if queue and not newsletter.rate_per_hour and connection.vendor == "postgresql":
            newsletter.recipient_count = _insert_recipients_queued(newsletter, customers, settings)
            newsletter.status, newsletter.queued_at = NewsletterStatus.QUEUED, timezone.now()
            wakeup.queued()
        else:
            newsletter.recipient_count = _insert_recipients(newsletter, customers)
        newsletter.save()
    return newsletter


def _due_times(newsletter: Newsletter, positions: Sequence[int]) -> list[dt.datetime] | None:
    start = max(newsletter.scheduled_at or timezone.now(), newsletter.send_started_at or timezone.now())
    if newsletter.rate_per_hour:
        gap = 3600.0 / newsletter.rate_per_hour
        return [start + dt.timedelta(seconds=position * gap) for position in positions]
    if newsletter.scheduled_at and newsletter.scheduled_at > timezone.now():
        return [start] * len(positions)
    return None


_PERSON = ("external_id", "email", "first_name", "last_name", "language", "country")


def _link(rows: Sequence[tuple[int | None, str, str, int]]) -> None:
    """(message id, language, skipped, recipient id) for each recipient of a batch."""
    table = connection.ops.quote_name(Recipient._meta.db_table)
    sql = f"UPDATE {table} SET message_id = %s, language = %s, skipped = %s WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _queue_batch(newsletter_id: int, settings: StoreSettings) -> bool:
    """Queue the next batch of recipients; False when there is nothing left to queue."""
    with transaction.atomic():
        newsletter = Newsletter.objects.select_for_update().get(pk=newsletter_id)
        if newsletter.status != NewsletterStatus.SENDING:
            return False
        batch = list(
            Recipient.objects.filter(newsletter=newsletter, message__isnull=True, skipped="")
            .order_by("position")
            .values_list(
                "pk",
                "position",
                "customer_id",
                "customer__newsletter_opt_in",
                *(f"customer__{f}" for f in _PERSON),
                "customer__data__phone",  # only the phone out of the shop's record
            )[:BATCH]
        )
        if not batch:
            newsletter.status, newsletter.queued_at = NewsletterStatus.QUEUED, timezone.now()
            newsletter.save(update_fields=["status", "queued_at", "updated_at"])
            return False
        keys = [message_key(newsletter.pk, row[2] or 0) for row in batch]
        existing = dict(Message.objects.filter(key__in=keys).values_list("key", "pk"))
        links: list[tuple[int | None, str, str, int]] = []
        drafts, queued = [], []
        for key, (pk, position, customer_id, opted_in, *fields, phone) in zip(keys, batch, strict=True):
            person = {**dict(zip(_PERSON, fields, strict=True)), "phone": str(phone or "")}
            if key in existing:  # queued by a run that did not get to link it
                links.append((existing[key], "", "", pk))
            elif customer_id is None:
                links.append((None, "", "deleted", pk))
            elif not opted_in:  # opted out since the list was frozen
                links.append((None, "", "unsubscribed", pk))
            else:
                language = outbox.language_for(person, settings)
                drafts.append(
                    outbox.Draft(
                        key=key,
                        notification=NOTIFICATION,
                        to_email=person["email"],
                        language=language,
                        context=recipient_context(newsletter.pk, newsletter.revision, customer_id, person),
                        priority=Priority.BULK,
                    )
                )
                queued.append((pk, position, language))
        messages = outbox.queue(drafts, settings)
        due = _due_times(newsletter, [position for _, position, _ in queued])
        if due is not None:
            for message, due_at in zip(messages, due, strict=True):
                message.due_at = due_at
            fast_update(messages, ["due_at"])
        links += [(m.pk, language, "", pk) for m, (pk, _, language) in zip(messages, queued, strict=True)]
        _link(links)
    return True


def _execute(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    cursor.execute(sql, params)


def _language_sql(column: str) -> str:
    """``outbox.language_for`` in SQL: the customer's language up to its first "-" or "_", in
    lower case, else the store's (the expression's one parameter); at most 8 characters."""
    text = f"COALESCE({column}, '')"
    if connection.vendor == "postgresql":
        base = f"split_part(split_part({text}, '-', 1), '_', 1)"
    else:

        def before(value: str, mark: str) -> str:  # value up to the first mark
            at = f"instr({value}, '{mark}')"
            return f"CASE WHEN {at} > 0 THEN substr({value}, 1, {at} - 1) ELSE {value} END"

        base = before(before(text, "-"), "_")
    return f"substr(COALESCE(NULLIF(LOWER({base}), ''), CAST(%s AS TEXT)), 1, 8)"


def _adapt(moment: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


_MESSAGE_COLUMNS = (
    "key", "notification", "to_email", "status", "priority", "due_at", "claimed_by", "claimed_until",
    "attempts", "order_id", "resend_of_id", "message_id", "created_at", "sent_at", "last_error",
)  # fmt: skip


def _queue_chunk(newsletter_id: int, settings: StoreSettings, low: int) -> bool:
    """Queue the recipients at positions ``low`` to ``low + CHUNK`` in a few set-based statements
    (one transaction); False when the newsletter is no longer being sent.

    The messages carry only the newsletter's id and revision; the personal parts (name, address,
    unsubscribe link, language) are read from the recipient row when the worker composes
    (``complete``), so queueing is a copy inside the database rather than an object per recipient.
    """
    q = connection.ops.quote_name
    r, people = q(Recipient._meta.db_table), q(Customer._meta.db_table)
    with transaction.atomic():
        newsletter = Newsletter.objects.select_for_update().get(pk=newsletter_id)
        if newsletter.status != NewsletterStatus.SENDING:
            return False
        chunk = _chunk(
            newsletter,
            settings,
            # the chunk's recipients still to queue; the columns named with their table
            pending=f"{r}.newsletter_id = %s AND {r}.position >= %s AND {r}.position < %s"
            f" AND {r}.message_id IS NULL AND {r}.skipped = ''",
            span=[newsletter.pk, low, low + CHUNK],
        )
        with connection.cursor() as cursor:
            # gone, or opted out, since the list was frozen
            _execute(
                cursor,
                f"UPDATE {r} SET skipped = 'deleted' WHERE {chunk.pending} AND ({r}.customer_id IS NULL"
                f" OR NOT EXISTS (SELECT 1 FROM {people} c WHERE c.id = {r}.customer_id))",
                chunk.span,
            )
            _execute(
                cursor,
                f"UPDATE {r} SET skipped = 'unsubscribed' WHERE {chunk.pending} AND {r}.customer_id IN"
                f" (SELECT id FROM {people} WHERE newsletter_opt_in = %s)",
                [*chunk.span, False],
            )
            # one message each, unless a run that did not get to link it made it already
            if connection.vendor == "postgresql":
                _queue_in_one_statement(cursor, chunk)
            else:
                _queue_in_three_statements(cursor, chunk)
    wakeup.queued()
    return True


@dataclass(frozen=True)
class _Chunk:
    pending: str  # SQL: the chunk's recipients still to queue, with ``span``'s three parameters
    span: list[Any]
    key: str  # the messages' key up to the customer id
    due_at: Any
    context: str  # the payloads' JSON
    message_ids: tuple[str, str]  # the Message-ID header around the recipient's position
    language: str  # the store's, for customers without one


def _chunk(
    newsletter: Newsletter, settings: StoreSettings, pending: str = "", span: Sequence[Any] = ()
) -> _Chunk:
    """The values every message of the newsletter queued now shares (and the chunk's rows, if any)."""
    due = _due_times(newsletter, [0])
    return _Chunk(
        pending=pending,
        span=list(span),
        key=f"newsletter:{newsletter.pk}:",
        due_at=_adapt(due[0] if due else timezone.now()),
        context=orjson.dumps(
            {"newsletter_id": newsletter.pk, "newsletter_revision": newsletter.revision}
        ).decode(),
        message_ids=(f"<{uuid.uuid4().hex}.", f"@{outbox.message_id_domain(settings.from_email)}>"),
        language=settings.default_language,
    )


class _Names(NamedTuple):
    """The chunk statements' identifiers, quoted, and their shared expressions."""

    r: str  # the recipients
    messages: str
    payloads: str
    people: str
    key: str  # the messages' key column
    columns: str  # the message columns _MESSAGE_COLUMNS lists
    keyed: str  # a recipient's message key (one parameter: the key up to the customer id)
    language: str  # the language of customer ``c`` (one parameter: the store's)


def _names() -> _Names:
    q = connection.ops.quote_name
    r = q(Recipient._meta.db_table)
    return _Names(
        r=r,
        messages=q(Message._meta.db_table),
        payloads=q(Payload._meta.db_table),
        people=q(Customer._meta.db_table),
        key=q("key"),
        columns=", ".join(q(column) for column in _MESSAGE_COLUMNS),
        keyed=f"CAST(%s AS TEXT) || {r}.customer_id",
        language=_language_sql("c.language"),
    )


def _queue_in_one_statement(cursor: Any, chunk: _Chunk) -> None:
    """PostgreSQL: the messages, their payloads and the recipients' links in one statement, each
    message's id drawn from its sequence first, so no message is looked up by its key again
    (a resumed send's chunks; ``send`` itself queues in ``_insert_recipients_queued``)."""
    r, messages, payloads, people, key, columns, keyed, language = _names()
    _execute(
        cursor,
        f"WITH todo AS MATERIALIZED (SELECT CASE WHEN m.id IS NULL"
        f" THEN nextval(pg_get_serial_sequence(%s, 'id')) ELSE m.id END AS mid, m.id IS NULL AS fresh,"
        f" {r}.id AS rid, {keyed} AS k, c.email, {r}.position AS pos, {language} AS lang"
        f" FROM {r} JOIN {people} c ON c.id = {r}.customer_id"
        f" LEFT JOIN {messages} m ON m.{key} = {keyed} WHERE {chunk.pending}),"
        f" made AS (INSERT INTO {messages} (id, {columns}) SELECT mid, k, %s, email, %s, %s, %s, '', NULL,"
        f" 0, NULL, NULL, CAST(%s AS TEXT) || pos || CAST(%s AS TEXT), %s, NULL, '' FROM todo WHERE fresh),"
        f" paid AS (INSERT INTO {payloads} (message_id, language, context, reply_to, subject, text, html,"
        f" raw, template_version) SELECT mid, lang, CAST(%s AS JSONB), '', '', '', '', NULL, '' FROM todo"
        f" WHERE fresh OR NOT EXISTS (SELECT 1 FROM {payloads} p WHERE p.message_id = todo.mid))"
        f" UPDATE {r} SET message_id = todo.mid, language = todo.lang FROM todo WHERE {r}.id = todo.rid",
        [
            messages, chunk.key, chunk.language, chunk.key,
            *chunk.span, NOTIFICATION, Status.QUEUED, Priority.BULK, chunk.due_at, *chunk.message_ids,
            _adapt(timezone.now()), chunk.context,
        ],
    )  # fmt: skip


def _queue_in_three_statements(cursor: Any, chunk: _Chunk) -> None:
    """SQLite (no statement changes two tables): the messages, the payloads, the links."""
    r, messages, payloads, people, key, columns, keyed, language = _names()
    _execute(
        cursor,
        f"INSERT INTO {messages} ({columns})"
        f" SELECT {keyed}, %s, c.email, %s, %s, %s, '', NULL, 0, NULL, NULL,"
        f" CAST(%s AS TEXT) || {r}.position || CAST(%s AS TEXT), %s, NULL, ''"
        f" FROM {r} JOIN {people} c ON c.id = {r}.customer_id"
        f" WHERE {chunk.pending} AND NOT EXISTS (SELECT 1 FROM {messages} m WHERE m.{key} = {keyed})",
        [
            chunk.key, NOTIFICATION, Status.QUEUED, Priority.BULK, chunk.due_at, *chunk.message_ids,
            _adapt(timezone.now()), *chunk.span, chunk.key,
        ],
    )  # fmt: skip
    _execute(
        cursor,
        f"INSERT INTO {payloads} (message_id, language, context, reply_to, subject, text, html, raw,"
        f" template_version) SELECT m.id, {language}, %s, '', '', '', '', NULL, ''"
        f" FROM {r} JOIN {messages} m ON m.{key} = {keyed}"
        f" JOIN {people} c ON c.id = {r}.customer_id"
        f" WHERE {chunk.pending} AND NOT EXISTS (SELECT 1 FROM {payloads} p WHERE p.message_id = m.id)",
        [chunk.language, chunk.context, chunk.key, *chunk.span],
    )
    _execute(
        cursor,
        f"UPDATE {r} SET message_id = (SELECT m.id FROM {messages} m WHERE m.{key} = {keyed}),"
        f" language = (SELECT {language} FROM {people} c WHERE c.id = {r}.customer_id) WHERE {chunk.pending}",
        [chunk.key, chunk.language, *chunk.span],
    )


def queue_pending(newsletter_id: int, settings: StoreSettings | None = None) -> Newsletter:
    settings = settings or StoreSettings.load()
    newsletter = Newsletter.objects.get(pk=newsletter_id)
    if newsletter.rate_per_hour:  # due times spaced per recipient: object by object
        while _queue_batch(newsletter_id, settings):
            pass
        return Newsletter.objects.get(pk=newsletter_id)
    low = 0
    while low < newsletter.recipient_count and _queue_chunk(newsletter_id, settings, low):
        low += CHUNK
    with transaction.atomic():
        newsletter = Newsletter.objects.select_for_update().get(pk=newsletter_id)
        if newsletter.status == NewsletterStatus.SENDING:
            newsletter.status, newsletter.queued_at = NewsletterStatus.QUEUED, timezone.now()
            newsletter.save(update_fields=["status", "queued_at", "updated_at"])
    return newsletter


def complete(pairs: Sequence[tuple[Message, Payload]], settings: StoreSettings) -> None:
    """Fill in the personal parts of newsletter messages queued by ``_queue_chunk`` (a payload
    naming its newsletter but no customer) from their recipient rows, one query for the batch.
    A message whose customer was deleted since is left as it is; composing it then fails and
    the worker holds it (nothing is sent to a deleted customer)."""
    missing = {
        message.pk: payload
        for message, payload in pairs
        if payload.context.get("newsletter_id") and "customer" not in payload.context
    }
    if not missing:
        return
    rows = Recipient.objects.filter(message_id__in=list(missing), customer__isnull=False).values_list(
        "message_id", "customer_id", *(f"customer__{f}" for f in _PERSON), "customer__data__phone"
    )
    for message_id, customer_id, *fields, phone in rows:
        payload = missing[message_id]
        person = {**dict(zip(_PERSON, fields, strict=True)), "phone": str(phone or "")}
        payload.context = recipient_context(
            payload.context["newsletter_id"], payload.context.get("newsletter_revision"), customer_id, person
        )
        payload.language = outbox.language_for(person, settings)


def send(
    newsletter: Newsletter,
    *,
    at: dt.datetime | None = None,
    rate_per_hour: int | None = None,
    settings: StoreSettings | None = None,
) -> Newsletter:
    """Send now (or at ``at``, at most ``rate_per_hour`` an hour). Repeating it resumes, never duplicates."""
    settings = settings or StoreSettings.load()
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise SendError([{"loc": ["at"], "msg": "needs a zone"}])
    if rate_per_hour is not None and rate_per_hour < 1:
        raise SendError([{"loc": ["rate_per_hour"], "msg": "must be at least 1"}])
    freeze(newsletter.pk, at=at, rate_per_hour=rate_per_hour, settings=settings, queue=True)
    return queue_pending(newsletter.pk, settings)


def clean_addresses(raw: Any) -> list[str]:
    """Test-send addresses: a list, or text separated by commas, semicolons or whitespace."""
    if isinstance(raw, str):
        raw = raw.replace(";", ",").replace("\n", ",").split(",")
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise SendError([{"loc": ["to"], "msg": "must be a list of e-mail addresses"}])
    addresses, errors = [], []
    for index, item in enumerate(raw):
        if not item.strip():
            continue
        try:
            addresses.append(mime.normalize_email(item))
        except mime.HeaderError:
            errors.append({"loc": ["to", index], "msg": f"{item.strip()[:80]!r} is not an e-mail address"})
    if not addresses and not errors:
        errors.append({"loc": ["to"], "msg": "give at least one address"})
    if len(addresses) > MAX_TEST_ADDRESSES:
        errors.append({"loc": ["to"], "msg": f"at most {MAX_TEST_ADDRESSES} addresses"})
    if errors:
        raise SendError(errors)
    return list(dict.fromkeys(addresses))


def content(newsletter: Newsletter, *, test: bool = False) -> dict[str, str]:
    subject = f"[Test] {newsletter.subject}" if test else newsletter.subject
    return {"subject": subject, "html": newsletter.html, "text": newsletter.text}


def _own_name(customer: Customer | None, address: str) -> str:
    if customer is None or customer.email.strip().lower() != address.strip().lower():
        return ""
    return " ".join(part for part in (customer.first_name.strip(), customer.last_name.strip()) if part)


def test_send(
    newsletter: Newsletter,
    addresses: Sequence[str],
    *,
    as_customer: Customer | None = None,
    settings: StoreSettings | None = None,
) -> list[Message]:
    """Queue the newsletter as it is now to these addresses only (subject marked "[Test]").

    Personalised as ``as_customer`` if given; the unsubscribe link in it is a test link that
    unsubscribes nobody. Sent with order priority: someone is waiting for it.
    """
    settings = settings or StoreSettings.load()
    validate_for_sending(newsletter)
    link = consent.url(consent.TEST_CUSTOMER, newsletter.pk)
    drafts = []
    for address in addresses:
        customer = customer_context(as_customer) if as_customer else {"email": address}
        drafts.append(
            outbox.Draft(
                key=f"newsletter-test:{newsletter.pk}:{uuid.uuid4().hex}",
                notification="newsletter",
                to_email=address,
                language=outbox.language_for(customer, settings),
                context={
                    "customer": {**customer, "email": address},
                    # To: names the previewed customer only when it is their own address
                    "to_name": _own_name(as_customer, address),
                    "extras": {"newsletter": content(newsletter, test=True), "unsubscribe_url": link},
                    "headers": consent.headers(link),
                    "test_of": newsletter.pk,
                },
                priority=Priority.ORDER,
            )
        )
    with transaction.atomic():
        return outbox.queue(drafts, settings)
