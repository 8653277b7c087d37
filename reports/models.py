from django.conf import settings
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


class SpaceDay(models.Model):
    """One space's figures for one local day (the organization's zone), for the analytics dashboard.

    Kept by the database itself: triggers on reservations_reservation add every written row's share in the
    same statement, whatever wrote it (migration reports.0002; `rebuild_analytics` rebuilds it from scratch).
    Counts, revenue and lead times are those of the reservations *starting* that day; seconds are the held
    (confirmed, completed) time *inside* that day, per local hour shown in `hours` columns h00-h23 (on the
    autumn change the repeated hour gets both). `touching` counts the reservations with a share in the row;
    a row whose count falls to 0 is deleted.
    """

    # No index of its own: the unique (space, day) leads with it.
    space = models.ForeignKey(
        "spaces.Space", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    day = models.DateField()
    touching = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)
    confirmed = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    expired = models.IntegerField(default=0)
    declined = models.IntegerField(default=0)
    no_show = models.IntegerField(default=0)
    held_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # Bookings per band of reports.analytics.LEAD_TIME_BANDS (any status; booked after the start: none).
    lead_0 = models.IntegerField(default=0)
    lead_1 = models.IntegerField(default=0)
    lead_2 = models.IntegerField(default=0)
    lead_3 = models.IntegerField(default=0)
    lead_4 = models.IntegerField(default=0)
    held_seconds = models.FloatField(default=0)
    for _hour in range(24):
        locals()[f"h{_hour:02}"] = models.FloatField(default=0)
    del _hour

    class Meta:
        constraints = [models.UniqueConstraint(fields=["space", "day"], name="reports_spaceday_one_per_day")]
        indexes = [
            models.Index(fields=["day"], name="reports_spaceday_day"),
            # The rows a write emptied, deleted by the same trigger: found without reading the table.
            models.Index(fields=["space"], condition=Q(touching=0), name="reports_spaceday_empty"),
        ]

    def __str__(self) -> str:
        return f"space {self.space_id} on {self.day}"


class BookerDay(models.Model):
    """One booker's held bookings starting on a local day and held seconds inside it (the top bookers), kept
    like SpaceDay."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.DateField()
    touching = models.IntegerField(default=0)
    bookings = models.IntegerField(default=0)
    held_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "user"], name="reports_bookerday_one_per_day")]
        indexes = [models.Index(fields=["user"], condition=Q(touching=0), name="reports_bookerday_empty")]

    def __str__(self) -> str:
        return f"user {self.user_id} on {self.day}"
