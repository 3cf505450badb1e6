"""A-numbers: nine digits, shown as ``A123-456-789``.

Older A-numbers have eight digits; they are the same number with a leading zero
(``A12345678`` is ``A012-345-678``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# ASCII digits only: ``\d`` alone also matches other scripts' digits (full-width "１２３", Arabic-Indic).
_INPUT = re.compile(r"^\s*A?\s*(\d{3})-?(\d{3})-?(\d{3})\s*$|^\s*A?\s*(\d{8,9})\s*$", re.IGNORECASE | re.ASCII)


def normalize(value: str) -> str:
    """Return the nine stored digits for any accepted spelling, or raise ValidationError."""
    match = _INPUT.match(str(value))
    if not match:
        raise ValidationError(f"{value!r} is not an A-number (expected A123-456-789 or 9 digits)", code="invalid_a_number")
    digits = "".join(g for g in match.groups() if g).zfill(9)
    if digits == "000000000":
        raise ValidationError("A000-000-000 is not a valid A-number", code="invalid_a_number")
    return digits


def validate_stored(value: str) -> None:
    """Model-field validator: the stored form is exactly nine digits, not all zeros."""
    if not (len(value) == 9 and value.isascii() and value.isdigit()) or value == "000000000":
        raise ValidationError(f"{value!r} is not a stored A-number (nine digits)", code="invalid_a_number")


def display(digits: str) -> str:
    return f"A{digits[0:3]}-{digits[3:6]}-{digits[6:9]}"


def check(value: str) -> str:
    """The nine stored digits of user input, or a UsageError (exit 2 / HTTP 400) saying why."""
    from caseload.core.errors import UsageError

    try:
        return normalize(value)
    except ValidationError as exc:
        raise UsageError("invalid_a_number", exc.messages[0]) from None
