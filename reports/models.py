from django.db import models
from django.db.models import Q


class MonthlyReport(models.Model):
    """One organization's figures for one month (in its time zone): JSON for the API, CSV for spreadsheets.

    Generating a month again replaces its report (one per month, enforced by the database).
    """

    month = models.DateField(help_text="The first day of the month, in the organization's time zone.")
    generated_at = models.DateTimeField()
    data = models.JSONField()
    csv = models.TextField()

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["month"], name="reports_monthlyreport_one_per_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="reports_monthlyreport_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def csv_filename(self) -> str:
        """The CSV's name wherever it is handed out: API, web page, email attachment."""
        return f"report-{self.month:%Y-%m}.csv"
