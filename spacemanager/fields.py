"""Serializer fields for API input that accept exactly the JSON type the OpenAPI schema promises."""

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` only: DRF's BooleanField also takes 1, "yes" or "on", which the schema does not."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictDecimalField(serializers.DecimalField):
    """An amount as a string (`"25.00"`), as the schema says: a JSON number would pass through a float."""

    default_error_messages = {"invalid": 'Give the amount as a string, e.g. "25.00".'}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField turns a number into text, which the schema does not promise."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
