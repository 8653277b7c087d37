"""Forms of the webhooks pages; the rules (URL safety, known events) live in integrations.services."""

from django import forms

from integrations.events import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, label="URL", help_text="Where to POST events: http:// or https://.")
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name} — {text}") for name, text in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookEndpointChangeForm(WebhookEndpointForm):
    is_active = forms.BooleanField(required=False, label="Active", help_text="Switch it on again after a fix.")
