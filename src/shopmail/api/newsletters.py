"""Newsletters (SPEC section 2): create a draft for a segment, look at it, test it, send it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import BaseModel, Field

from shopmail.api.base import body_schema, json_body, json_response
from shopmail.api.messages import message_summary
from shopmail.core.errors import Rejected
from shopmail.domain.snapshot import instant_problem
from shopmail.newsletter import drafts, sending, stats
from shopmail.newsletter.models import Newsletter, Segment
from shopmail.newsletter.segments import SegmentFilters
from shopmail.store.models import Customer, StoreSettings

router = Router(tags=["newsletters"])


class NewsletterIn(BaseModel):
    subject: str = Field(max_length=drafts.MAX_SUBJECT)
    html: str = Field("", description="The newsletter's HTML (trusted: shown as written).")
    text: str | None = Field(None, description="The text part; empty or missing: generated from the HTML.")
    segment: SegmentFilters = Field(
        default_factory=SegmentFilters,
        description="Filters over opted-in customers, combined with AND; {} is every opted-in customer.",
    )
    segment_name: str | None = Field(None, description="Use this saved segment instead of `segment`.")
    save_segment_as: str | None = Field(None, description="Also save `segment` under this name for reuse.")


class TestIn(BaseModel):
    to: list[str] = Field(max_length=sending.MAX_TEST_ADDRESSES, description="Send the draft to these only.")
    as_customer: str | None = Field(
        None, description="Personalise as this customer (the shop's customer id)."
    )


class SendIn(BaseModel):
    at: dt.datetime | None = Field(None, description="Send at this time (with a zone) instead of now.")
    rate_per_hour: int | None = Field(None, ge=1, description="Spread sending to at most this many an hour.")


def _get(newsletter_id: int) -> Newsletter | None:
    return Newsletter.objects.select_related("segment").filter(pk=newsletter_id).first()


def _in_body(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors of the newsletter modules (``drafts.Invalid``, ``sending.SendError``) as the API
    reports them: located in the request body."""
    return [{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in errors]


def _not_found() -> HttpResponse:
    return json_response({"detail": "newsletter not found"}, status=404)


@router.get("/newsletters", summary="Newsletters, newest first (without their content)")
def list_newsletters(request: HttpRequest, limit: int = 50) -> HttpResponse:
    settings = StoreSettings.load()
    items = []
    for newsletter in Newsletter.objects.select_related("segment")[: max(1, min(limit, 500))]:
        data = stats.as_json(newsletter, settings)
        items.append({key: value for key, value in data.items() if key not in ("html", "text")})
    return json_response({"items": items})


@router.post(
    "/newsletters",
    summary="Create a newsletter draft for a segment",
    openapi_extra=body_schema(NewsletterIn, "Subject, HTML and/or text, and the segment."),
)
def create_newsletter(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    errors: list[dict[str, Any]] = []
    unknown = sorted(set(body) - set(NewsletterIn.model_fields))
    errors.extend({"loc": ["body", name], "msg": "is not a field of a newsletter"} for name in unknown)
    segment = None
    name = body.get("segment_name")
    if name is not None:
        segment = Segment.objects.filter(name=name).first() if isinstance(name, str) else None
        if segment is None:
            errors.append({"loc": ["body", "segment_name"], "msg": "no saved segment has this name"})
    save_as = body.get("save_segment_as") or ""
    if not isinstance(save_as, str):
        errors.append({"loc": ["body", "save_segment_as"], "msg": "must be a string"})
        save_as = ""
    try:
        with transaction.atomic():  # all or nothing: other errors undo the draft again
            newsletter = drafts.save(
                None,
                subject=body.get("subject"),
                html=body.get("html") or "",
                text=body.get("text"),
                filters=body.get("segment") or {},
                segment=segment,
                save_segment_as=save_as,
                author=f"api:{getattr(getattr(request, 'auth', None), 'name', '')}",
            )
            if errors:
                raise Rejected(errors)
    except drafts.Invalid as exc:
        raise Rejected(errors + _in_body(exc.errors)) from None
    return json_response(stats.as_json(newsletter), status=201)


@router.get("/newsletters/{newsletter_id}", summary="A newsletter with its recipient and delivery counts")
def get_newsletter(request: HttpRequest, newsletter_id: int) -> HttpResponse:
    newsletter = _get(newsletter_id)
    if newsletter is None:
        return _not_found()
    return json_response(stats.as_json(newsletter))


@router.post(
    "/newsletters/{newsletter_id}/test",
    summary="Send the newsletter to these addresses only (subject marked [Test])",
    openapi_extra=body_schema(TestIn, "The addresses."),
)
def test_newsletter(request: HttpRequest, newsletter_id: int) -> HttpResponse:
    newsletter = _get(newsletter_id)
    if newsletter is None:
        return _not_found()
    body = json_body(request)
    customer = None
    errors: list[dict[str, Any]] = []
    if body.get("as_customer") is not None:
        customer = Customer.objects.filter(external_id=str(body["as_customer"])).first()
        if customer is None:
            errors.append({"loc": ["body", "as_customer"], "msg": "no customer has this id"})
    try:
        addresses = sending.clean_addresses(body.get("to"))
    except sending.SendError as exc:
        errors.extend(_in_body(exc.errors))
    if errors:
        raise Rejected(errors)
    try:
        messages = sending.test_send(newsletter, addresses, as_customer=customer)
    except sending.SendError as exc:
        raise Rejected(_in_body(exc.errors)) from None
    return json_response({"messages": [message_summary(m) for m in messages]}, status=202)


@router.post(
    "/newsletters/{newsletter_id}/send",
    summary="Queue it for every recipient of its segment, once each (repeating it resumes, never duplicates)",
    openapi_extra=body_schema(SendIn, "Optional: a time to send at, and a rate limit."),
)
def send_newsletter(request: HttpRequest, newsletter_id: int) -> HttpResponse:
    newsletter = _get(newsletter_id)
    if newsletter is None:
        return _not_found()
    body = json_body(request) if request.body.strip() else {}
    errors: list[dict[str, Any]] = []
    unknown = sorted(set(body) - set(SendIn.model_fields))
    errors.extend({"loc": ["body", name], "msg": "is not a field of a send"} for name in unknown)
    at, rate = None, body.get("rate_per_hour")
    if body.get("at") is not None:
        try:
            at = dt.datetime.fromisoformat(str(body["at"]).replace("Z", "+00:00"))
        except ValueError:
            errors.append({"loc": ["body", "at"], "msg": "must be an ISO 8601 date-time with a zone"})
        else:
            problem = instant_problem(at)
            if problem is not None:
                errors.append({"loc": ["body", "at"], "msg": problem})
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate < 1):
        errors.append({"loc": ["body", "rate_per_hour"], "msg": "must be a whole number of at least 1"})
    if errors:
        raise Rejected(errors)
    try:
        newsletter = sending.send(newsletter, at=at, rate_per_hour=rate)
    except sending.SendError as exc:
        raise Rejected(_in_body(exc.errors)) from None
    return json_response(stats.as_json(newsletter))
