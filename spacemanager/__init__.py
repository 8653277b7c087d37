# Load the Celery app with Django, so `@shared_task` and `app.task` bind to it (Celery's Django pattern).
from spacemanager.celery import app as celery_app

__all__ = ("celery_app",)
