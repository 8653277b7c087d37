"""Webhooks pages under Settings (owners and admins) and the calendar feeds page. Thin: parse, call, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import manager_required, member_required, request_membership
from integrations import feeds, selectors, services
from integrations.forms import WebhookEndpointChangeForm, WebhookEndpointForm
from integrations.models import WebhookEndpoint
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error
from spaces.selectors import space_get
from tenants.selectors import organization_url_for_request


def _endpoint(pk: int) -> WebhookEndpoint:
    try:
        return selectors.webhook_endpoint_get(endpoint_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_http_methods(["GET", "POST"])
@manager_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(data=request.POST if request.method == "POST" else None)
    context = {"form": form, "endpoints": selectors.webhook_endpoint_list()}
    if request.method == "GET":
        return render(request, "integrations/webhookendpoint_list.html", context)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(actor=request_membership(request), **form.cleaned_data)
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            # The secret is shown in this answer only: no redirect, nothing in the session.
            context.update(created=endpoint, form=WebhookEndpointForm())
            return render(request, "integrations/webhookendpoint_list.html", context, status=201)
    return render(request, "integrations/webhookendpoint_list.html", context, status=400)


@require_http_methods(["GET", "POST"])
@manager_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    initial = {field: getattr(endpoint, field) for field in ("url", "description", "events", "is_active")}
    form = WebhookEndpointChangeForm(data=request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.webhook_endpoint_update(
                    actor=request_membership(request), endpoint=endpoint, **form.cleaned_data
                )
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, "Endpoint saved.")
                return redirect("integrations:webhook", pk=endpoint.pk)
        status = 400
    page = Paginator(selectors.webhook_delivery_list(endpoint=endpoint), 20).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "form": form, "page": page, "deliveries": page.object_list}
    return render(request, "integrations/webhookendpoint_detail.html", context, status=status)


@require_POST
@manager_required
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    services.webhook_test_send(actor=request_membership(request), endpoint=endpoint)
    messages.success(request, "Test event queued; it appears below within seconds.")
    return redirect("integrations:webhook", pk=endpoint.pk)


@require_POST
@manager_required
def webhook_redeliver(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    try:
        delivery = selectors.webhook_delivery_get(endpoint=endpoint, delivery_id=delivery_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    services.webhook_redeliver(actor=request_membership(request), delivery=delivery)
    messages.success(request, f"{delivery.event_type} queued again.")
    return redirect("integrations:webhook", pk=endpoint.pk)


@require_POST
@manager_required
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    services.webhook_endpoint_delete(actor=request_membership(request), endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("integrations:webhooks")


# Calendar feeds


@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The feed itself: no login (the secret in the URL is the key), a 304 when the client's copy is current."""
    access = feeds.feed_access(secret=secret, organization=request.tenant)
    if access is None:
        raise Http404("No such calendar feed.")
    version = feeds.feed_version(access)
    last_modified = http_date(version.last_modified.timestamp())
    unchanged = get_conditional_response(
        request, etag=version.etag, last_modified=int(version.last_modified.timestamp())
    )
    response = unchanged or HttpResponse(feeds.feed_render(access), content_type="text/calendar; charset=utf-8")
    response["ETag"] = version.etag
    response["Last-Modified"] = last_modified
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    if unchanged is None:
        response["Content-Disposition"] = 'inline; filename="calendar.ics"'
    return response


@require_http_methods(["GET", "POST"])
@member_required
def calendar_feed_list(request: HttpRequest) -> HttpResponse:
    """My feed URLs; POST `space` adds that space's feed, POST `regenerate` replaces every secret."""
    actor = request_membership(request)
    if request.method == "POST":
        if "regenerate" in request.POST:
            services.calendar_feeds_regenerate(actor=actor)
            messages.success(request, "New feed addresses made: the old ones no longer answer. Subscribe again.")
            return redirect("integrations:calendar_feeds")
        try:
            space = space_get(space_id=int(request.POST.get("space", "")))
        except (ValueError, NotFound):
            return render(request, "400.html", {"detail": "Choose one of this organization's spaces."}, status=400)
        services.calendar_feeds_ensure(actor=actor, spaces=[space])
        return redirect(reverse("integrations:calendar_feeds") + f"#feed-{space.pk}")
    site_url = organization_url_for_request(request.tenant, request)
    links = [feeds.feed_links(feed, site_url=site_url) for feed in services.calendar_feeds_ensure(actor=actor)]
    return render(request, "integrations/calendarfeed_list.html", {"feeds": links})
