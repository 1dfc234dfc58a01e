"""Sync upload: a JSON or NDJSON document, as ``shopmail sync``; "dry run" shows the e-mails
that would go out and changes nothing, then "apply" runs the same file for real (it is kept in
the data directory in between). Below it, the history of sync runs."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shopmail.core import jobs
from shopmail.flows import ingest
from shopmail.panel.access import staff_required
from shopmail.panel.forms import SyncForm
from shopmail.panel.orders import paginate
from shopmail.panel.sync_jobs import INLINE_BYTES, RUNNING, Job, read
from shopmail.store import syncfile
from shopmail.store.models import SyncRun

SOURCES = ("panel", "cli", "sync", "api", "product", "event")
SHOWN = 200
KEEP_SECONDS = 24 * 3600


def _uploads() -> Path:
    directory = Path(settings.DATA_DIR) / "panel-uploads"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def keep(upload: Any) -> str:
    """Store an uploaded file for a later "apply"; returns its token. Old ones are removed."""
    directory = _uploads()
    jobs.remove_older_than(directory, KEEP_SECONDS, "*.sync")  # background runs' states too
    token = secrets.token_urlsafe(24)
    with (directory / f"{token}.sync").open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return token


def kept(token: str) -> Path | None:
    if not jobs.valid_id(token):  # made by secrets.token_urlsafe, as job ids are
        return None
    path = _uploads() / f"{token}.sync"
    return path if path.is_file() else None


def _history(request: HttpRequest) -> dict[str, Any]:
    source = request.GET.get("source", "")
    runs = SyncRun.objects.order_by("-started_at", "-id")
    if source in SOURCES:
        runs = runs.filter(source=source)
    return {"runs": paginate(request, runs, 25), "source": source, "sources": SOURCES}


def result_view(result: ingest.RunResult) -> dict[str, Any]:
    summary = result.summary()
    return {
        "dry_run": result.dry_run,
        "run": result.run_id,
        "counts": summary["counts"],
        "by_notification": sorted(Counter(m["notification"] for m in result.messages).items()),
        "messages": result.messages[:SHOWN],
        "more_messages": max(0, len(result.messages) - SHOWN),
        "changes": summary["changes"][:SHOWN],
        "more_changes": max(0, len(summary["changes"]) - SHOWN) + result.changes_not_listed,
        "rejected": result.rejected[:SHOWN],
        "total_messages": len(result.messages),
    }


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("form", SyncForm())
    return render(request, "panel/sync.html", {**_history(request), **context}, status=status)


@staff_required
def sync_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = SyncForm(request.POST, request.FILES)
    form.fields["file"].required = False
    if not form.is_valid():
        return _page(request, 422, form=form)
    dry_run = request.POST.get("action") != "apply"
    upload = form.cleaned_data["file"]
    token = str(request.POST.get("token", ""))
    path: Path | None = None
    if upload is None:
        path = kept(token)
        if path is None:
            form.add_error(
                "file", _("Choose a sync file to upload.") if not token else _("Upload the file again.")
            )
            return _page(request, 422, form=form)
    elif dry_run:
        token = keep(upload)
        path = kept(token)
    options = {"silent": form.cleaned_data["silent"], "partial": form.cleaned_data["partial"]}
    name = getattr(upload, "name", "") or str(request.POST.get("filename", ""))
    size = upload.size if upload is not None else (path.stat().st_size if path is not None else 0)
    if size >= INLINE_BYTES:  # a large file: answered at once, run in the background (issue 27)
        if path is None:
            path = kept(keep(upload))
        assert path is not None
        job = Job(
            _uploads(),
            path,
            dry_run=dry_run,
            options=options,
            filename=name[:200],
            token=token,
            actor=request.user.get_username(),
            present=result_view,
        ).start()
        return redirect("panel:sync_job", job=job)
    try:
        doc = syncfile.parse_file(path) if path is not None else syncfile.parse(upload.read())
        result = ingest.ingest(
            orders=doc.orders,
            products=doc.products,
            customers=doc.customers,
            silent=options["silent"] or doc.silent,
            dry_run=dry_run,
            partial=options["partial"],
            source="panel",
            listed=ingest.LISTED,
        )
    except syncfile.SyncFileError as exc:
        return _page(request, 422, form=form, file_error=f"{exc}. Nothing was applied.")
    except ingest.Rejected as exc:
        return _page(
            request,
            422,
            form=form,
            rejected_errors=exc.errors[:SHOWN],
            more_errors=max(0, len(exc.errors) - SHOWN),
        )
    if not dry_run and path is not None:
        path.unlink(missing_ok=True)
    return _page(
        request,
        form=SyncForm(initial=options),
        result=result_view(result),
        token=token if dry_run else "",
        filename=name[:200],
        options=options,
    )


@staff_required
def sync_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    events = run.orderevent_set.select_related("order", "message").order_by("order_id", "at", "id")[:500]
    return render(request, "panel/sync_run.html", {"run": run, "events": events})


_PHASES = {
    "queued": gettext_lazy("Waiting to start"),
    "reading": gettext_lazy("Reading the file"),
    "checking": gettext_lazy("Checking"),
    "applying": gettext_lazy("Applying (all or nothing)"),
    "done": gettext_lazy("Done"),
    "failed": gettext_lazy("Failed"),
    "stopped": gettext_lazy("Stopped"),
}


def _job(job: str) -> dict[str, Any]:
    state = read(_uploads(), job)  # None for an id that is not one (core.jobs.valid_id)
    if state is None:
        raise Http404("no such sync")
    return state


def job_progress(state: dict[str, Any]) -> dict[str, Any]:
    total, checked = int(state.get("total") or 0), int(state.get("checked") or 0)
    checked = min(checked, total)
    result = state.get("result") or {}
    fields = {
        "checked": _("%(done)s of %(total)s") % {"done": checked, "total": total} if total else "…",
        "queued": result.get("total_messages", 0) if not result.get("dry_run") else 0,
    }
    return jobs.polled(state, RUNNING, _PHASES, total=total, finished=checked, fields=fields)


@staff_required
def sync_job(request: HttpRequest, job: str) -> HttpResponse:
    """A background sync's page: its progress while it runs (polled), then its result."""
    state = _job(job)
    context: dict[str, Any] = {"job": state, "progress": job_progress(state)}
    options = state.get("options") or {}
    if state["state"] == "done":
        context.update(
            result=state["result"],
            token=state.get("token", ""),
            filename=state.get("filename", ""),
            options=options,
            form=SyncForm(initial=options),
        )
    elif state["state"] in ("failed", "stopped"):
        if state.get("errors"):
            context.update(rejected_errors=state["errors"], more_errors=state.get("more_errors", 0))
        else:
            context.update(file_error=state.get("error", _("The sync failed.")))
    return _page(request, **context)


@staff_required
def sync_job_json(request: HttpRequest, job: str) -> JsonResponse:
    return JsonResponse(job_progress(_job(job)))
