"""Monthly reports, per organization: beat runs the job hourly on the 1st and 2nd (spacemanager/beat.py)."""

from reports import services
from spacemanager.celery import app
from spacemanager.mail import EmailTask


@app.task(name="reports.tasks.monthly_report_previous_month")
def monthly_report_previous_month() -> int:
    """Make last month's report once the month is over here, and have it emailed (once: send_once)."""
    report = services.monthly_report_ensure_previous_month()
    monthly_report_email.delay(report.pk)
    return report.pk


@app.task(base=EmailTask, bind=True, name="reports.tasks.monthly_report_email")
def monthly_report_email(self, report_id: int) -> int:
    return services.monthly_report_send(report_id=report_id)
