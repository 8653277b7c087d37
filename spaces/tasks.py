"""Work on space photos done by the worker, inside the organization's schema (queued through the outbox)."""

from spacemanager.celery import app
from spaces import media_services


@app.task(bind=True, name="spaces.tasks.photo_thumbnail_make", autoretry_for=(OSError,), retry_backoff=True)
def photo_thumbnail_make(self, photo_id: int) -> bool:
    """Make the thumbnail of a large photo; running it twice makes it once."""
    return media_services.photo_thumbnail_make(photo_id=photo_id)
