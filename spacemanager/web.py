"""Helpers shared by the HTML views of every app: putting domain errors on forms."""

from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from spacemanager.errors import DomainError


def form_add_error(
    form: forms.Form, error: DomainError | ValidationError, *, field_map: Mapping[str, str] | None = None
) -> None:
    """Show a service's error next to the field it names, or above the form when no field of the form fits.

    `field_map` translates a service's or model's field name into the form's (e.g. `slug` → `organization_slug`).
    """
    field_map = field_map or {}

    def target(field: str | None) -> str | None:
        name = field_map.get(field, field) if field else None
        return name if name in form.fields else None

    if isinstance(error, DomainError):
        # Keep the service's code (e.g. `slug_taken`): pages, API and commands name a condition alike.
        form.add_error(target(error.field), ValidationError(error.message, code=error.code))
        return
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            for message in messages:
                form.add_error(target(None if field == NON_FIELD_ERRORS else field), message)
        return
    for message in error.messages:
        form.add_error(None, message)
