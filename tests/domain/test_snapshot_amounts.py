"""Amounts are decimal text in ASCII digits: a shop's JSON number keeps its exact text, and digits
of another script (which Python's ``Decimal`` would read) are refused, not stored as sent."""

from __future__ import annotations

import pydantic
import pytest

from shopmail.domain.snapshot import Totals


@pytest.mark.parametrize("given, stored", [("12.50", "12.50"), (12.5, "12.5"), (7, "7"), ("-3.25", "-3.25")])
def test_an_amount_in_ascii_digits_is_kept_as_its_text(given, stored):
    assert Totals.model_validate({"total": given}).total == stored


@pytest.mark.parametrize(
    "given",
    [
        "\u0661\u0662.\u0665",  # Arabic-Indic 12.5
        "\u0967\u0968.\u096b",  # Devanagari 12.5
        "\uff11\uff12.\uff15",  # full-width 12.5
        "12.\u0665",
        "12,50",
        "1e3",
        "",
    ],
)
def test_an_amount_in_other_digits_or_forms_is_refused_with_the_pattern(given):
    with pytest.raises(pydantic.ValidationError) as refused:
        Totals.model_validate({"total": given})
    assert "String should match pattern '^-?[0-9]{1,12}" in str(refused.value)
