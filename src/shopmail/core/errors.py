"""The one error a refused input raises in every layer: ``Rejected`` with ``{"loc", "msg"}`` items,
which the API answers as 422 and the panel shows beside its fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


class Rejected(Exception):
    """The run was refused; ``errors`` name every bad field as ``{"loc": [...], "msg": ...}``."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def pydantic_errors(exc: ValidationError, prefix: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *err["loc"]], "msg": err["msg"]} for err in exc.errors(include_url=False)]
