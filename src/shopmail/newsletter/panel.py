"""The newsletter wizard in the control panel (``/admin/newsletters/``), staff only.

Compose (subject, HTML, text generated from it or edited) -> recipients (a saved or new segment,
with the count updated as you type) -> preview as a chosen recipient and test send -> send now or
at a time, optionally rate-limited. Afterwards: the newsletter with its frozen recipient list and
delivery counts. Also: saved segments, and who opted in or out when and how.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shopmail.core.staff import staff_required
from shopmail.mail.models import Message, Status
from shopmail.newsletter import consent, drafts, preview, segments, sending, stats
from shopmail.newsletter.forms import ComposeForm, SegmentForm, SendForm, TestSendForm
from shopmail.newsletter.models import ConsentSource, Newsletter, NewsletterStatus, Recipient, Segment
from shopmail.store.models import Customer, StoreSettings

STEPS = (
    ("compose", gettext_lazy("Compose")),
    ("recipients", gettext_lazy("Recipients")),
    ("preview", gettext_lazy("Preview and test")),
    ("send", gettext_lazy("Send")),
)


def _newsletter(pk: int) -> Newsletter:
    return get_object_or_404(Newsletter.objects.select_related("segment"), pk=pk)


def _draft(request: HttpRequest, pk: int) -> Newsletter | HttpResponse:
    newsletter = _newsletter(pk)
    if not newsletter.editable:
        messages.info(request, _("This newsletter is being sent or was sent; it can no longer be changed."))
        return redirect("newsletters:detail", pk=pk)
    return newsletter


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    newsletter = context.get("newsletter")
    if isinstance(newsletter, Newsletter) and newsletter.editable:
        context.setdefault("steps", STEPS)
    return render(request, f"newsletter/panel/{template}.html", context, status=status)


@staff_required
def index(request: HttpRequest) -> HttpResponse:
    settings = StoreSettings.load()
    rows = []
    for newsletter in Newsletter.objects.select_related("segment")[:200]:
        counts = stats.delivery_counts(newsletter)
        rows.append(
            {
                "newsletter": newsletter,
                "counts": counts,
                "phase": stats.phase(newsletter, counts),
                "recipients": stats.recipient_count(newsletter, settings),
            }
        )
    return _page(
        request,
        "index",
        {
            "rows": rows,
            "segments": [(segment, segments.describe(segment.filters)) for segment in Segment.objects.all()],
            "opted_in": segments.opted_in().count(),
        },
    )


def _save_compose(request: HttpRequest, newsletter: Newsletter | None) -> HttpResponse:
    form = ComposeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            newsletter = drafts.save(
                newsletter,
                subject=data["subject"],
                html=data["html"].replace("\r\n", "\n"),
                text=None if data["generate_text"] else data["text"].replace("\r\n", "\n"),
                filters=newsletter.filters if newsletter else {},
                segment=newsletter.segment if newsletter else None,
                author=request.user.get_username(),
            )
        except drafts.Invalid as exc:
            for error in exc.errors:
                field = str(error["loc"][0])
                form.add_error(field if field in form.fields else None, error["msg"])
        else:
            messages.success(request, _("Newsletter saved."))
            if "regenerate" in request.POST or "stay" in request.POST:
                return redirect("newsletters:compose", pk=newsletter.pk)
            return redirect("newsletters:recipients", pk=newsletter.pk)
    return _page(request, "compose", {"form": form, "newsletter": newsletter, "step": "compose"}, status=422)


@staff_required
def new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save_compose(request, None)
    return _page(request, "compose", {"form": ComposeForm(), "newsletter": None, "step": "compose"})


@staff_required
def compose(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = _draft(request, pk)
    if isinstance(newsletter, HttpResponse):
        return newsletter
    if request.method == "POST":
        return _save_compose(request, newsletter)
    form = ComposeForm(
        initial={
            "subject": newsletter.subject,
            "html": newsletter.html,
            "text": newsletter.text,
            "generate_text": newsletter.text_generated,
        }
    )
    return _page(request, "compose", {"form": form, "newsletter": newsletter, "step": "compose"})


@staff_required
def recipients(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = _draft(request, pk)
    if isinstance(newsletter, HttpResponse):
        return newsletter
    settings = StoreSettings.load()
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            segment = form.cleaned_data["saved"]
            filters = form.raw_filters()
            if segment is None and form.cleaned_data["save_as"]:
                segment = drafts.save_segment(form.cleaned_data["save_as"], filters)
                messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
            newsletter.segment = segment
            newsletter.filters = segments.clean(segment.filters if segment else filters)
            newsletter.revision += 1
            newsletter.save()
            return redirect("newsletters:preview", pk=newsletter.pk)
        status = 422
    else:
        form = SegmentForm(initial=SegmentForm.initial_for(newsletter.filters, newsletter.segment))
        status = 200
    return _page(
        request,
        "recipients",
        {
            "form": form,
            "newsletter": newsletter,
            "step": "recipients",
            "count": stats.recipient_count(newsletter, settings),
            "described": segments.describe(newsletter.filters),
            "saved_segments": [
                {"segment": s, "described": segments.describe(s.filters)} for s in Segment.objects.all()
            ],
        },
        status=status,
    )


@staff_required
def segment_count(request: HttpRequest) -> JsonResponse:
    """``{"count": n, "described": [...]}`` for the filters in the query (or a saved segment)."""
    settings = StoreSettings.load()
    saved = request.GET.get("saved")
    if saved:
        segment = Segment.objects.filter(pk=saved if saved.isdigit() else 0).first()
        if segment is None:
            return JsonResponse({"errors": [{"loc": ["saved"], "msg": "no such segment"}]}, status=422)
        raw: dict[str, Any] = dict(segment.filters)
    else:
        raw = {name: request.GET[name] for name in segments.FILTERS if request.GET.get(name, "").strip()}
    try:
        filters = segments.clean(raw, loc=())
    except segments.SegmentError as exc:
        return JsonResponse({"errors": exc.errors}, status=422)
    return JsonResponse(
        {"count": segments.count(filters, settings.default_language), "described": segments.describe(filters)}
    )


def _preview_customer(
    request: HttpRequest, newsletter: Newsletter, settings: StoreSettings
) -> Customer | None:
    chosen = request.GET.get("as", "").strip()
    if chosen:
        return Customer.objects.filter(Q(email__iexact=chosen) | Q(external_id=chosen)).first()
    try:
        filters = segments.clean(sending.filters_of(newsletter))
    except segments.SegmentError:
        return None
    return segments.queryset(filters, settings.default_language).order_by("pk").first()


@staff_required
def preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = _newsletter(pk)
    settings = StoreSettings.load()
    customer = _preview_customer(request, newsletter, settings)
    try:
        filters = segments.clean(sending.filters_of(newsletter))
        some = list(segments.queryset(filters, settings.default_language).order_by("pk")[:25])
    except segments.SegmentError:
        some = []
    tests = Message.objects.filter(key__startswith=f"newsletter-test:{newsletter.pk}:").order_by("-pk")[:10]
    return _page(
        request,
        "preview",
        {
            "newsletter": newsletter,
            "step": "preview",
            "customer": customer,
            "asked": request.GET.get("as", ""),
            "some_recipients": some,
            "preview": preview.render(newsletter, customer, settings),
            "test_form": TestSendForm(initial={"to": getattr(request.user, "email", "")}),
            "tests": tests,
        },
    )


@staff_required
@require_POST
def test_send(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = _newsletter(pk)
    form = TestSendForm(request.POST)
    target = reverse("newsletters:preview", args=[pk])
    customer = None
    if request.POST.get("as"):
        customer = Customer.objects.filter(email__iexact=request.POST["as"]).first()
        target += f"?as={customer.email}" if customer else ""
    if not form.is_valid():
        messages.error(request, _("Give at least one address to send the test to."))
        return redirect(target)
    try:
        addresses = sending.clean_addresses(form.cleaned_data["to"])
        queued = sending.test_send(newsletter, addresses, as_customer=customer)
    except sending.SendError as exc:
        messages.error(
            request, _("Test not sent: %(errors)s") % {"errors": "; ".join(e["msg"] for e in exc.errors)}
        )
        return redirect(target)
    messages.success(
        request,
        _("Test queued for %(to)s. Its status is shown below.")
        % {"to": ", ".join(m.to_email for m in queued)},
    )
    return redirect(target)


@staff_required
def send_page(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = _newsletter(pk)
    settings = StoreSettings.load()
    if newsletter.status == NewsletterStatus.QUEUED:
        return redirect("newsletters:detail", pk=pk)
    resuming = newsletter.status == NewsletterStatus.SENDING
    form = SendForm(request.POST or None) if not resuming else None
    if request.method == "POST" and (resuming or (form is not None and form.is_valid())):
        data = form.cleaned_data if form is not None else {}
        try:
            sending.send(
                newsletter,
                at=data.get("at") if data.get("when") == "later" else None,
                rate_per_hour=data.get("rate_per_hour"),
                settings=settings,
            )
        except sending.SendError as exc:
            messages.error(
                request, _("Not sent: %(errors)s") % {"errors": "; ".join(e["msg"] for e in exc.errors)}
            )
        else:
            messages.success(request, _("The newsletter is queued for every recipient."))
            return redirect("newsletters:detail", pk=pk)
    return _page(
        request,
        "send",
        {
            "newsletter": newsletter,
            "step": "send",
            "form": form,
            "resuming": resuming,
            "count": stats.recipient_count(newsletter, settings),
            "described": segments.describe(sending.filters_of(newsletter)),
            "insecure_links": not str(consent.url(0, 0)).startswith("https://"),
        },
        status=422 if request.method == "POST" else 200,
    )


@staff_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    newsletter = _newsletter(pk)
    if newsletter.editable:
        return redirect("newsletters:compose", pk=pk)
    counts = stats.delivery_counts(newsletter)
    rows = Recipient.objects.filter(newsletter=newsletter).select_related("message").order_by("position")
    query = request.GET.get("q", "").strip()
    if query:
        rows = rows.filter(email__icontains=query)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return _page(
        request,
        "detail",
        {
            "newsletter": newsletter,
            "counts": counts,
            "phase": stats.phase(newsletter, counts),
            "page": page,
            "q": query,
            "described": segments.describe(newsletter.filters),
        },
    )


@staff_required
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The delivery page's counts as JSON, polled by panel/progress.js every few seconds
    (short polling: no request is held open)."""
    return JsonResponse(stats.progress(_newsletter(pk)))  # staff pages are never cached (core/staff)


@staff_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop what has not gone out yet (a scheduled or rate-limited send)."""
    newsletter = _newsletter(pk)
    if newsletter.status == NewsletterStatus.DRAFT:
        raise Http404("not sent")
    stopped = Message.objects.filter(
        newsletter_recipient__newsletter=newsletter, status__in=(Status.QUEUED, Status.DEFERRED)
    ).update(status=Status.CANCELLED, last_error="cancelled by staff", claimed_by="")
    messages.success(
        request, _("%(n)s message(s) that had not gone out yet were cancelled.") % {"n": stopped}
    )
    return redirect("newsletters:detail", pk=pk)


@staff_required
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    name = segment.name
    for newsletter in Newsletter.objects.filter(segment=segment, status=NewsletterStatus.DRAFT):
        newsletter.filters, newsletter.segment = segment.filters, None  # drafts keep the filters
        newsletter.save(update_fields=["filters", "segment", "updated_at"])
    segment.delete()
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": name})
    return redirect("newsletters:index")


@staff_required
def subscribers(request: HttpRequest) -> HttpResponse:
    """Who opted in or out, when and how: search a customer."""
    query = request.GET.get("q", "").strip()
    customers = Customer.objects.order_by("email")
    if query:
        customers = customers.filter(
            Q(email__icontains=query) | Q(external_id=query) | Q(last_name__icontains=query)
        )
    else:
        customers = customers.filter(
            Q(newsletter_opt_in=True) | Q(newsletter_consents__isnull=False)
        ).distinct()
    page = Paginator(customers, 50).get_page(request.GET.get("page"))
    rows = [{"customer": c, "history": consent.history(c)} for c in page.object_list]
    return _page(request, "subscribers", {"page": page, "rows": rows, "q": query})


@staff_required
@require_POST
def subscriber_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff opt a customer out on their request; recorded as done in the panel, by whom.
    (Opting in is the customer's own step: in the shop or on My page.)"""
    customer = get_object_or_404(Customer, pk=pk)
    if request.POST.get("action") == "unsubscribe":
        consent.unsubscribe(customer, source=ConsentSource.PANEL, detail=f"by {request.user.get_username()}")
        messages.success(request, _("%(email)s is unsubscribed.") % {"email": customer.email})
    return redirect(f"{reverse('newsletters:subscribers')}?q={customer.email}")
