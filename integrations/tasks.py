"""Webhook deliveries, sent by workers inside the organization's schema (integrations.services)."""

from spacemanager.celery import app
from spacemanager.mail import EmailTask
from tenants.sweeps import sweep_due_probe


@app.task(name="integrations.tasks.webhook_delivery_attempt")
def webhook_delivery_attempt(delivery_id: int) -> str | None:
    """One attempt, if due (queued after the commit of a change, by redeliver/test, or by the sweep)."""
    from integrations import services

    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@app.task(name="integrations.tasks.webhook_deliveries_queue_due")
def webhook_deliveries_queue_due() -> int:
    """Periodic, per organization: queue the retries that are due, and first attempts Redis missed."""
    from integrations import services

    return services.webhook_deliveries_queue_due()


@sweep_due_probe("integrations.tasks.webhook_deliveries_queue_due")
def _deliveries_due(now):
    from integrations import services

    return [services.webhook_deliveries_due(now=now)]


@app.task(base=EmailTask, bind=True, name="integrations.tasks.webhook_endpoint_disabled_notify")
def webhook_endpoint_disabled_notify(self, endpoint_id: int, version: str) -> int:
    """Tell the owners and admins that an endpoint was disabled (email failures retried by EmailTask)."""
    from integrations import services

    return services.webhook_endpoint_disabled_notify(endpoint_id=endpoint_id, version=version)
