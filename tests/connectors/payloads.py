"""The published Shopify and WooCommerce payloads of tests/fixtures (sources in their READMEs)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load(platform: str, name: str) -> Any:
    """A fresh copy of one fixture (tests may change their copy)."""
    return copy.deepcopy(json.loads((FIXTURES / platform / name).read_text()))


def raw(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()
