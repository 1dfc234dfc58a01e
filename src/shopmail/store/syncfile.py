"""Reading sync documents: one JSON object, or NDJSON with one ``kind``-tagged object per line."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

KIND_TO_LIST = {"order": "orders", "product": "products", "customer": "customers"}


@dataclass(frozen=True, slots=True)
class RawLine:
    """One NDJSON line, kept as bytes: an unchanged order is recognised by its hash, unparsed."""

    number: int
    data: bytes


class SyncFileError(ValueError):
    """The document cannot be read; the message names the line."""


@dataclass
class SyncDocument:
    orders: list[Any] = field(default_factory=list)
    products: list[Any] = field(default_factory=list)
    customers: list[Any] = field(default_factory=list)
    silent: bool = False

    def lists(self) -> dict[str, list[Any]]:
        return {"orders": self.orders, "products": self.products, "customers": self.customers}

    def __len__(self) -> int:
        return len(self.orders) + len(self.products) + len(self.customers)


def _from_object(body: Any) -> SyncDocument:
    if isinstance(body, list):
        raise SyncFileError("line 1: a sync document is an object with orders/products/customers, not a list")
    if not isinstance(body, dict):
        raise SyncFileError("line 1: a sync document must be a JSON object")
    doc = SyncDocument()
    for name in ("orders", "products", "customers"):
        value = body.get(name, [])
        if not isinstance(value, list):
            raise SyncFileError(f"{name!r} must be a list")
        setattr(doc, name, value)
    unknown = sorted(set(body) - {"orders", "products", "customers", "silent", "dry_run", "partial"})
    if unknown:
        raise SyncFileError(f"unknown field(s) {', '.join(map(repr, unknown))}")
    doc.silent = body.get("silent") is True
    return doc


# A top-level-looking "kind" key: inside a JSON string a quote is always escaped, so an unescaped
# `"kind":` is a key. If a line has exactly one, it is the line's own kind.
_KIND = re.compile(rb'"kind"\s*:\s*"([a-z]+)"')


_ORDER_FIRST = b'{"kind":"order",'  # how most exporters (and json.dumps without spaces) begin a line


def _kind_of(number: int, line: bytes) -> str:
    if line.startswith(_ORDER_FIRST) and line.find(b'"kind"', len(_ORDER_FIRST)) == -1:
        return "order"  # the common case, without the pattern below
    at = line.find(b'"kind"')
    if at > 0 and line[at - 1] != 0x5C and line.find(b'"kind"', at + 6) == -1 and line.startswith(b"{"):
        found = _KIND.match(line, at)
        if found:
            return found.group(1).decode()
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise SyncFileError(f"line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise SyncFileError(f"line {number}: each line must be a JSON object with a 'kind'")
    kind = item.get("kind")
    return kind if isinstance(kind, str) else repr(kind)


def _ndjson(lines: Iterable[bytes]) -> SyncDocument:
    """NDJSON lines are kept as bytes: ingest recognises unchanged orders without parsing them,
    and parses (and reports by line number) only the rest."""
    doc = SyncDocument()
    lists = {"order": doc.orders, "product": doc.products, "customer": doc.customers}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        kind = _kind_of(number, line)
        if kind not in lists:
            raise SyncFileError(f"line {number}: 'kind' must be order, product or customer, not {kind!r}")
        lists[kind].append(RawLine(number, line))
    return doc


def parse(data: bytes) -> SyncDocument:
    """Parse a JSON or NDJSON sync document; a bad document raises ``SyncFileError``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    stripped = data.strip()
    if not stripped:
        raise SyncFileError("the file is empty")
    try:
        body = orjson.loads(stripped)
        if isinstance(body, dict) and "kind" in body:  # NDJSON of a single line
            return _ndjson([stripped])
        return _from_object(body)
    except orjson.JSONDecodeError as exc:
        if b"\n" not in stripped:
            raise SyncFileError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
        first = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            raise SyncFileError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return _ndjson(data.split(b"\n"))


def parse_file(path: Path) -> SyncDocument:
    """Like ``parse``, but an NDJSON file is read line by line, never whole into memory."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
        handle.seek(0)
        first_line = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip()
        try:
            first = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            first = None
        if isinstance(first, dict) and "kind" in first:
            if head.startswith(b"\xef\xbb\xbf"):
                handle.read(3)
            doc = _ndjson(handle)
            if not len(doc):
                raise SyncFileError("the file is empty")
            return doc
        return parse(handle.read())
