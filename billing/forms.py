from datetime import date, datetime

from django import forms

from accounts.models import Membership
from billing.models import BillingSettings, Invoice
from tenants.selectors import organization_current


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (an `<input type="month">`), the first day of it once cleaned."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value) -> date | None:
        value = super().to_python(value)
        if not value:
            return None
        try:
            return datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a calendar month, no instant
        except ValueError as exc:
            raise forms.ValidationError("Give a month as YYYY-MM.", code="invalid") from exc


class GenerateForm(forms.Form):
    month = MonthField(label="Month", help_text="An ended month of the organization's calendar.")
    user = forms.TypedChoiceField(
        label="Only for", required=False, coerce=int, empty_value=None, help_text="Everyone who booked, when empty."
    )

    def __init__(self, *args, **kwargs):
        # Its own ids: the invoice list shows it beside the filter form, which has a "month" field too, and a
        # label must point at its own input.
        kwargs.setdefault("auto_id", "id_generate_%s")
        super().__init__(*args, **kwargs)
        members = (
            Membership.objects.filter(organization=organization_current())
            .select_related("user")
            .order_by("user__full_name", "user__email")
        )
        self.fields["user"].choices = [("", "Everyone")] + [
            (m.user_id, m.user.full_name or m.user.email) for m in members
        ]


class InvoiceFilterForm(forms.Form):
    month = MonthField(label="Month", required=False)
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any"), *Invoice.Status.choices])


class MarkPaidForm(forms.Form):
    reference = forms.CharField(label="Reference", max_length=200, required=False)


class VoidForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300, required=False)


class BillingSettingsForm(forms.ModelForm):
    """The fields and checks of the model; billing.services.billing_settings_update saves them."""

    class Meta:
        model = BillingSettings
        fields = ["legal_name", "address", "tax_id", "tax_rate", "tax_label", "invoice_prefix", "payment_terms_days"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        labels = {"tax_rate": "Tax rate (%)", "payment_terms_days": "Payment terms (days)"}
