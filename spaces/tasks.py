"""Work on space photos done by the worker, inside the organization's schema (queued through the outbox)."""

from spacemanager.celery import app
from spaces import media_services


@app.task(bind=True, name="spaces.tasks.photo_process", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def photo_process(self, photo_id: int) -> bool:
    """Clean a large photo and make its thumbnail; running it twice does it once."""
    return media_services.photo_process(photo_id=photo_id)
