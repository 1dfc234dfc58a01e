"""`shopmail sync FILE`: progress, summary, dry run, silent, and bad files changing nothing."""

from __future__ import annotations

import orjson
import pytest
from django.core.management import CommandError, call_command

from factories import evolve, order
from shopmail.mail.models import Message
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db


def write(tmp_path, name, *items):
    path = tmp_path / name
    path.write_bytes(b"\n".join(orjson.dumps(item) for item in items) + b"\n")
    return path


def test_sync_ndjson_prints_summary_and_queues(store, tmp_path, capsys):
    path = write(
        tmp_path,
        "s.ndjson",
        {"kind": "order", **order("1", status="processing")},
        {"kind": "product", "sku": "MUG-01", "stock_quantity": 3},
    )
    call_command("sync", str(path))
    out = capsys.readouterr().out
    assert "Sync summary" in out and "order_confirmed" in out
    assert Order.objects.count() == 1 and Message.objects.count() == 2


def test_resync_of_same_file_is_unchanged_and_quiet(store, tmp_path, capsys):
    path = write(tmp_path, "s.ndjson", *({"kind": "order", **order(str(i))} for i in range(5)))
    call_command("sync", str(path))
    count = Message.objects.count()
    call_command("sync", str(path))
    assert Message.objects.count() == count
    assert "No e-mails queued" in capsys.readouterr().out


def test_dry_run_changes_nothing(store, tmp_path, capsys):
    path = write(tmp_path, "s.ndjson", {"kind": "order", **order("1", status="processing")})
    call_command("sync", str(path), "--dry-run")
    assert "would be queued" in capsys.readouterr().out
    assert Order.objects.count() == 0 and Message.objects.count() == 0


def test_silent_stores_without_mail(store, tmp_path):
    path = write(tmp_path, "s.ndjson", {"kind": "order", **order("1", status="processing")})
    call_command("sync", str(path), "--silent")
    assert Order.objects.count() == 1 and Message.objects.count() == 0


def test_broken_line_names_line_and_applies_nothing(store, tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_bytes(orjson.dumps({"kind": "order", **order("1")}) + b'\n{"kind": "order", "id": "2",\n')
    with pytest.raises(CommandError, match="line 2"):
        call_command("sync", str(path))
    assert Order.objects.count() == 0


def test_invalid_order_rejects_whole_file_unless_partial(store, tmp_path):
    bad = order("2")
    bad["customer"]["email"] = "nope"
    path = write(tmp_path, "s.ndjson", {"kind": "order", **order("1")}, {"kind": "order", **bad})
    with pytest.raises(CommandError, match="nothing was applied"):
        call_command("sync", str(path))
    assert Order.objects.count() == 0
    call_command("sync", str(path), "--partial")
    assert list(Order.objects.values_list("external_id", flat=True)) == ["1"]


def test_changed_order_in_resync_is_diffed(store, tmp_path):
    first = order("1", status="processing")
    call_command("sync", str(write(tmp_path, "a.ndjson", {"kind": "order", **first})))
    call_command("sync", str(write(tmp_path, "b.ndjson", {"kind": "order", **evolve(first, 5, picked=True)})))
    assert Message.objects.filter(notification="order_updated").count() == 1


def test_missing_file(store):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("sync", "/nonexistent/file.ndjson")
