"""Strict API input (DESIGN.md): a body field the endpoint does not know is a 400 that names it, never
silently ignored, so a misspelt `cancel_afected` cannot pass for a request that cancels nothing."""

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        unknown = set(data) - set(self.fields) if hasattr(data, "keys") else set()
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return super().to_internal_value(data)
