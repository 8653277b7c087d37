"""A POST done once, however often it arrives: the API's `Idempotency-Key` and the pages' one-time form token.

API (Stripe's semantics): a POST under /api/ with an `Idempotency-Key` header runs once per organization,
principal and key. The same key with the same request within 24 hours gets the first answer again (marked
`Idempotent-Replayed: true`) and nothing is done again; the same key with another body, path or query is a
422 `idempotency_key_reused`; while the first is still running, a 409 `idempotency_in_progress`. Answers
worth replaying are kept (2xx-4xx); a 5xx (the service's transaction rolled back), 401, 403 and 429 free the
key, so the client may retry with it.

Pages: every form that changes something carries `{% form_token %}` (a fresh random token per rendering).
Its first POST runs; a second POST of the same rendering (a double click, a reload of the POST) is answered
with the first one's redirect instead of being done again, waiting a moment if the first is still running.
A form answered with errors frees its token, so the corrected form can be sent. Inline validation posts
(htmx, `HX-Trigger-Name`) only check fields and are left alone.

The ledger is `tenants.IdempotencyKey` in PostgreSQL (tenants.idempotency), race-safe through its unique
constraint, pruned by the same job as the task keys.
"""

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

from spacemanager.responses import error_response, wants_json
from tenants.idempotency import (
    API_REQUEST_KIND,
    FORM_REQUEST_KIND,
    OnceKey,
    RequestInProgress,
    RequestMismatch,
    StoredAnswer,
    release,
    request_claim,
    request_complete,
)

API_HEADER = "Idempotency-Key"
FORM_FIELD = "form_token"
MAX_KEY_LENGTH = 255
# Longer than any request runs (a stopping web worker gets 30 s): a claim older than this lost its holder.
REQUEST_LEASE = timedelta(minutes=2)
# A double-submitted form waits this long for the first submission before saying it is still being sent.
FORM_WAIT_SECONDS = 10.0
FORM_POLL_SECONDS = 0.1
API_REPLAYED_HEADERS = ("Content-Type", "Location", "Content-Disposition")
NOT_KEPT = {401, 403, 429}


def _principal(request: HttpRequest) -> str:
    """Who sent it, without a query for tokens: the JWT's user, the session's user, or nobody."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme in jwt_settings.AUTH_HEADER_TYPES and raw:
        try:
            return f"user:{AccessToken(raw.strip())[jwt_settings.USER_ID_CLAIM]}"
        except (TokenError, KeyError):
            return "anonymous"  # the view answers 401, which is never kept
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anonymous"


def _ledger_key(request: HttpRequest, kind: str, client_key: str) -> OnceKey:
    tenant = getattr(request, "tenant", None)
    return OnceKey(
        kind=kind,
        object_id=_principal(request),
        version=hashlib.sha256(client_key.encode()).hexdigest(),
        schema_name=tenant.schema_name if tenant is not None else "public",
    )


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    if request.content_type == "multipart/form-data":
        # An upload may be larger than DATA_UPLOAD_MAX_MEMORY_SIZE (request.body refuses it): hash its fields
        # and files as Django parsed them (files stream to disk); DRF then reads request.POST and FILES.
        for name, values in sorted(request.POST.lists()):
            for value in values:
                digest.update(f"{name}={value}".encode() + b"\0")
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                digest.update(f"{name}:{upload.name}:{upload.size}".encode() + b"\0")
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
        return digest.hexdigest()
    digest.update(request.body)
    return digest.hexdigest()


def _replay(answer: StoredAnswer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotentRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return self.get_response(request)
        if wants_json(request):
            client_key = request.headers.get(API_HEADER)
            return self.get_response(request) if client_key is None else self._api(request, client_key)
        if request.headers.get("HX-Trigger-Name"):
            return self.get_response(request)
        try:
            token = request.POST.get(FORM_FIELD, "")
        except RequestDataTooBig:
            return self.get_response(request)  # Django answers it with its 400
        return self._form(request, token) if token else self.get_response(request)

    def _api(self, request: HttpRequest, client_key: str) -> HttpResponse:
        if not 0 < len(client_key) <= MAX_KEY_LENGTH or not client_key.isprintable():
            return error_response(
                request,
                status=400,
                detail=f"{API_HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID.",
                code="invalid_idempotency_key",
                template="400.html",
            )
        try:
            request_hash = _request_hash(request)
        except RequestDataTooBig:
            return self.get_response(request)  # the API answers it with its 413
        except MultiPartParserError as exc:
            return error_response(
                request,
                status=400,
                detail=f"Multipart form parse error - {exc}",
                code="parse_error",
                template="400.html",
            )
        key = _ledger_key(request, API_REQUEST_KIND, client_key)
        try:
            stored = request_claim(key, request_hash=request_hash, lease=REQUEST_LEASE)
        except RequestMismatch:
            return error_response(
                request,
                status=422,
                detail=f"This {API_HEADER} was used for another request; use a new key for a new request.",
                code="idempotency_key_reused",
                template="400.html",
            )
        except RequestInProgress:
            response = error_response(
                request,
                status=409,
                detail=f"A request with this {API_HEADER} is still running; retry once it has finished.",
                code="idempotency_in_progress",
                template="409.html",
            )
            response["Retry-After"] = "1"
            return response
        if stored is not None:
            return _replay(stored)
        return self._run_and_keep(request, key, keep=lambda status: status < 500 and status not in NOT_KEPT)

    def _form(self, request: HttpRequest, token: str) -> HttpResponse:
        if len(token) > MAX_KEY_LENGTH:
            return self.get_response(request)
        key = _ledger_key(request, FORM_REQUEST_KIND, token)
        deadline = time.monotonic() + FORM_WAIT_SECONDS
        while True:
            try:
                stored = request_claim(key, request_hash="", lease=REQUEST_LEASE)
                break
            except RequestInProgress:
                if time.monotonic() >= deadline:
                    return error_response(
                        request,
                        status=409,
                        detail="This form is already being sent. Wait a moment, then look for the result.",
                        code="form_in_progress",
                        template="409.html",
                    )
                time.sleep(FORM_POLL_SECONDS)
        if stored is not None:
            return _replay(stored)
        # Only a redirect says "done" on a page (post/redirect/get); errors re-render the form.
        return self._run_and_keep(request, key, keep=lambda status: 300 <= status < 400)

    def _run_and_keep(self, request: HttpRequest, key: OnceKey, *, keep: Callable[[int], bool]) -> HttpResponse:
        try:
            response = self.get_response(request)
        except BaseException:
            release(key)
            raise
        if keep(response.status_code) and not response.streaming:
            headers = {name: response[name] for name in API_REPLAYED_HEADERS if response.has_header(name)}
            request_complete(key, StoredAnswer(response.status_code, headers, response.content))
        else:
            release(key)
        return response
