"""Sync documents: JSON and NDJSON, and clear errors that name the line."""

from __future__ import annotations

import orjson
import pytest

from factories import order
from shopmail.store.syncfile import RawLine, SyncFileError, parse, parse_file


def ndjson(*items):
    return b"\n".join(orjson.dumps(item) for item in items) + b"\n"


def test_json_document():
    doc = parse(orjson.dumps({"orders": [order("1")], "products": [{"sku": "A"}], "silent": True}))
    assert len(doc.orders) == 1 and doc.products == [{"sku": "A"}] and doc.silent


def test_ndjson_lines_are_grouped_by_kind_and_kept_as_bytes(tmp_path):
    data = ndjson(
        {"kind": "order", **order("1")},
        {"kind": "product", "sku": "A", "meta": {"kind": "x"}},
        {"kind": "customer", "id": "c", "email": "c@example.com"},
    )
    for doc in (
        parse(data),
        parse_file(tmp_path.joinpath("f.ndjson"))
        if tmp_path.joinpath("f.ndjson").write_bytes(data)
        else None,
    ):
        assert [type(x) for x in doc.orders] == [RawLine]
        assert doc.orders[0].number == 1 and doc.products[0].number == 2 and doc.customers[0].number == 3


@pytest.mark.parametrize(
    "data,line",
    [
        (b'{"kind": "order", "id": "1"}\n{"kind": "order", "id": \n', 2),
        (b'{"kind": "order", "id": "1"}\n{"kind": "invoice", "id": "2"}\n', 2),
        (b'{"kind": "order", "id": "1"}\n\n[1, 2]\n', 3),
        (b'{"orders": [1, 2}', 1),
    ],
)
def test_malformed_documents_name_the_line(data, line):
    try:
        doc = parse(data)
    except SyncFileError as exc:
        assert f"line {line}" in str(exc)
    else:  # a line that looks like an order is parsed (and its line reported) by ingest
        assert doc.orders[-1].number == line


def test_empty_and_wrong_shapes():
    for data, message in (
        (b"", "empty"),
        (b"[]", "not a list"),
        (b'{"orders": {}}', "must be a list"),
        (b'{"order": []}', "unknown field"),
    ):
        with pytest.raises(SyncFileError, match=message):
            parse(data)


def test_an_order_line_is_known_by_its_leading_kind_and_a_nested_kind_is_not_taken_for_it():
    lines = [
        b'{"kind":"order","id":"1"}',
        b'{"kind":"order","id":"2","note":{"kind":"product"}}',  # two "kind" keys: read properly
        b'{"id":"3","kind":"customer","email":"a@example.com"}',
        b'{"kind":"orders","id":"4"}',  # not a kind
    ]
    with pytest.raises(SyncFileError, match="line 4"):
        parse(b"\n".join(lines))
    doc = parse(b"\n".join(lines[:3]))
    assert [line.number for line in doc.orders] == [1, 2] and [c.number for c in doc.customers] == [3]
