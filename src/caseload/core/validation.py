"""Checks of user input that every database must refuse the same way.

SQLite does not enforce a ``varchar`` length and PostgreSQL refuses an over-long value with a
database error in the middle of a transaction, so lengths are checked here, before any write,
with the same UsageError (exit code 2, HTTP 400) on both.
"""

from __future__ import annotations

from caseload.core.errors import UsageError


def check_text(value: str | None, *, what: str, max_length: int, code: str = "invalid_text",
               required: bool = True) -> str:
    """``value`` stripped; UsageError ``code`` if blank (when ``required``) or longer than ``max_length``."""
    text = (value or "").strip()
    if required and not text:
        raise UsageError(code, f"{what} must not be blank")
    if len(text) > max_length:
        raise UsageError(code, f"{what} is {len(text):,} characters long; at most {max_length} are allowed")
    return text


def check_username(username: str | None) -> str:
    """A login name Django's user model can store, stripped: 1 to 150 characters of letters,
    digits and @ . + - _ (the model's own validator). Raises UsageError ``username_required``
    (blank), ``username_too_long`` or ``invalid_username`` (another character, a space)."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)
    name = (username or "").strip()
    if not name:
        raise UsageError("username_required", "a user name must not be blank")
    name = check_text(name, what="a user name", max_length=field.max_length, code="username_too_long")
    for validator in field.validators:
        try:
            validator(name)
        except ValidationError as exc:
            if exc.code == "max_length":
                continue  # reported above with the length
            raise UsageError("invalid_username", f"user name {name!r}: {' '.join(exc.messages)}") from None
    return name
