"""Local media files (the default storage without S3), served on the organization's own host.

A URL is good only with its signature (spaces.images.SignedFileSystemStorage, like S3's presigned URLs) and
only on the host of the organization whose prefix the name starts with: one organization's files are never
reachable from another's site, whatever the name.
"""

import mimetypes

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from spaces.images import SignedFileSystemStorage, tenant_prefix


@require_safe
def media_file(request: HttpRequest, name: str) -> FileResponse:
    storage = default_storage
    if not isinstance(getattr(storage, "_wrapped", storage), SignedFileSystemStorage):
        raise Http404("Files are served by the object storage.")
    if connection.schema_name == "public" or not name.startswith(tenant_prefix()) or ".." in name.split("/"):
        raise Http404("No such file here.")
    if storage.name_from_signature(name, request.GET.get("t", ""), request.GET.get("s", "")) != name:
        raise Http404("This link is not valid (or has expired); reload the page for a new one.")
    if not storage.exists(name):
        raise Http404("No such file here.")
    response = FileResponse(storage.open(name, "rb"), content_type=mimetypes.guess_type(name)[0])
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
