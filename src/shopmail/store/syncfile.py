"""Reading sync documents: one JSON object, or NDJSON with one ``kind``-tagged object per line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

KIND_TO_LIST = {"order": "orders", "product": "products", "customer": "customers"}


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


def _ndjson(data: bytes) -> SyncDocument:
    doc = SyncDocument()
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise SyncFileError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise SyncFileError(f"line {number}: each line must be a JSON object with a 'kind'")
        kind = item.pop("kind", None)
        if kind not in KIND_TO_LIST:
            raise SyncFileError(f"line {number}: 'kind' must be order, product or customer, not {kind!r}")
        getattr(doc, KIND_TO_LIST[kind]).append(item)
    return doc


def parse(data: bytes) -> SyncDocument:
    """Parse a JSON or NDJSON sync document; a bad document raises ``SyncFileError``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    stripped = data.strip()
    if not stripped:
        raise SyncFileError("the file is empty")
    try:
        return _from_object(orjson.loads(stripped))
    except orjson.JSONDecodeError as exc:
        if b"\n" not in stripped:
            raise SyncFileError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
        first = stripped.split(b"\n", 1)[0]
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            raise SyncFileError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return _ndjson(data)
