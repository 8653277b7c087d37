"""The form of the reports page: which month to (re)generate. Whether that month may have a report is the
service's rule (reports.services.monthly_report_generate)."""

from datetime import date

from django import forms

# The date range the month arithmetic can handle (a month's end is the 1st of the next month).
FIRST_MONTH, LAST_MONTH = date(2000, 1, 1), date(9998, 12, 1)


class ReportGenerateForm(forms.Form):
    month = forms.DateField(
        input_formats=["%Y-%m"],
        widget=forms.DateInput(
            format="%Y-%m",
            attrs={"type": "month", "min": f"{FIRST_MONTH:%Y-%m}", "max": f"{LAST_MONTH:%Y-%m}"},
        ),
        error_messages={"invalid": "Enter a month like 2025-03.", "required": "Choose a month."},
    )

    def clean_month(self) -> date:
        month = self.cleaned_data["month"].replace(day=1)
        if not FIRST_MONTH <= month <= LAST_MONTH:
            raise forms.ValidationError(f"Choose a month between {FIRST_MONTH:%Y-%m} and {LAST_MONTH:%Y-%m}.")
        return month
