"""The two Django admin sites, superusers only.

- `PlatformAdminSite` (django.contrib.admin's default `admin.site`, mounted on the public site): organizations,
  domains, people, memberships — the public schema.
- `organization_admin_site` (mounted on every organization's host, `<slug>.BASE_DOMAIN/admin/`): that
  organization's spaces and reservations — its schema. The two registries are separate, so neither site shows
  the other's models.

An organization's admin writes through the services (`ServiceModelAdmin`), acting as the superuser's own
membership in that organization, which must be an owner or admin one (`admin_actor`): every change is made by
someone the organization can see in its member list, under the same rules as the API. A superuser who is not
a manager there can look, but not change (docs/operations.md explains why).
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from csp.decorators import csp_update
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import timezone

from accounts.access import request_membership
from accounts.login_limits import LoginThrottled, login_authenticate
from accounts.models import Membership
from spacemanager.errors import DomainError
from spacemanager.ratelimit import rate_limited_response


class LimitedAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, checking the password behind the login limits (accounts.login_limits)."""

    def clean(self) -> dict:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            self.user_cache = login_authenticate(
                self.request, email=username, password=password, accept=lambda user: user if user.is_staff else None
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


ADMIN_CONTENT_SECURITY_POLICY = csp_update({"style-src": ["'unsafe-inline'"]})


class PlatformAdminSite(admin.AdminSite):
    site_header = "SpaceManager platform admin"
    site_title = "SpaceManager admin"
    index_title = "Organizations, people and domains"
    login_form = LimitedAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        # Staff flags and model permissions are not enough: the admin crosses organizations.
        return request.user.is_active and request.user.is_superuser

    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        # django-tenants' admin index and Django's change list write inline <style> blocks: the admin (superusers
        # only) allows inline styles; scripts stay the site's own files, as everywhere.
        return ADMIN_CONTENT_SECURITY_POLICY(super().admin_view(view, cacheable))

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Superuser passwords are the most valuable ones: the same login limits as the API and the pages.
        try:
            return super().login(request, extra_context)
        except LoginThrottled as exc:
            return rate_limited_response(request, exc.retry_after, what="failed logins")


def admin_actor(request: HttpRequest) -> Membership | None:
    """Who the organization admin acts as: the superuser's membership here, if they own or administer it."""
    membership = request_membership(request)
    return membership if membership is not None and membership.is_manager else None


class OrganizationAdminSite(PlatformAdminSite):
    """One organization's spaces and reservations, on its own host, in its own time zone."""

    index_title = "Spaces, reservations and webhooks"
    index_template = "admin/organization_index.html"

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        context["site_header"] = f"{request.tenant.name} · SpaceManager admin"
        context["admin_actor"] = admin_actor(request)
        return context

    def admin_view(self, view, cacheable: bool = False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def in_organization_time(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            # Forms read and pages show times in the organization's zone, as its people see them. The page is
            # rendered here, while that zone is active (a TemplateResponse would render after the view).
            with timezone.override(request.tenant.timezone):
                response = inner(request, *args, **kwargs)
                if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                    response.render()
            return response

        return in_organization_time


organization_admin_site = OrganizationAdminSite(name="organization_admin")


class ServiceRefused(Exception):
    """A service refused an admin save; carries its error back to the form."""

    def __init__(self, error: DomainError | ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


class ServiceForm(forms.ModelForm):
    """An admin form whose object a service saves, so the service checks the rules, not the form.

    The form only parses input (field types, required fields) and builds the instance for display. When the
    service refused the previous attempt, its error is shown on the form: on the field it names, or above the
    form (e.g. the 409 conflict message).
    """

    refusal: DomainError | ValidationError | None = None

    def _post_clean(self) -> None:
        # Django would run model validation here, including the exclusion constraint with a generic message;
        # the service runs the rules (and the database decides the races) with messages a person can act on.
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as exc:
            self._update_errors(exc)
        if self.refusal is not None:
            self._show_refusal(self.refusal)

    def _show_refusal(self, error: DomainError | ValidationError) -> None:
        if isinstance(error, DomainError):
            items = [(error.field, [error.message])]
        elif hasattr(error, "error_dict"):
            items = list(error.message_dict.items())
        else:
            items = [(None, error.messages)]
        for field, field_messages in items:
            self.add_error(field if field in self.fields else None, field_messages)


def adopt(target: Model, saved: Model) -> None:
    """Copy what a service saved onto the admin's instance (the admin logs and redirects with that one)."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False


class ServiceModelAdmin(admin.ModelAdmin):
    """A ModelAdmin of an organization's admin whose saves and actions go through the services.

    Subclasses implement `save_through_service`. A refusal (DomainError, or a model's ValidationError from the
    service) aborts the save: Django's changeform_view is atomic, so nothing of the attempt is kept, and the
    form is shown again with the error on it. Nothing is deleted here: spaces are archived, reservations
    cancelled.
    """

    form = ServiceForm

    def save_through_service(self, request: HttpRequest, form: ServiceForm, formsets: list, change: bool) -> None:
        raise NotImplementedError

    def actor(self, request: HttpRequest) -> Membership:
        actor = admin_actor(request)
        if actor is None:  # the permission methods below keep non-managers from getting here
            raise PermissionDenied
        return actor

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and admin_actor(request) is not None

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and admin_actor(request) is not None

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)  # a new class on every call
        form.refusal = getattr(request, "_service_refusal", None)
        return form

    def changeform_view(self, request: HttpRequest, object_id=None, form_url: str = "", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The refused attempt was rolled back with the view's transaction; show the form again, with the
            # service's message on it (the second pass validates the same input and saves nothing).
            request._service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Model, form: ServiceForm, change: bool) -> None:
        """Nothing here: save_related has the inline formsets too, and calls the service once with all of it."""

    def save_related(self, request: HttpRequest, form: ServiceForm, formsets: list, change: bool) -> None:
        try:
            self.save_through_service(request, form, formsets, change)
        except (DomainError, ValidationError) as exc:
            raise ServiceRefused(exc) from exc

    def construct_change_message(self, request: HttpRequest, form: ServiceForm, formsets: list, add: bool):
        # The service replaced inline rows itself (the formsets were never saved): name them, don't list them.
        message = super().construct_change_message(request, form, [], add)
        changed_inlines = [
            str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()
        ]
        if changed_inlines and not add:
            message.append({"changed": {"fields": changed_inlines}})
        return [{"organization": request.tenant.schema_name}, *message]

    def get_paginator(self, request: HttpRequest, queryset: QuerySet, per_page: int, *args, **kwargs):
        # LogEntry lives in the public schema and object ids repeat across organizations: an object's history
        # page lists only this organization's entries (construct_change_message tags them).
        if queryset.model is LogEntry:
            queryset = queryset.filter(change_message__contains=f'{{"organization": "{request.tenant.schema_name}"}}')
        return super().get_paginator(request, queryset, per_page, *args, **kwargs)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def action_label(self, obj: Model) -> str:
        """How an action's refusal names the object."""
        return str(obj)

    def run_action(
        self,
        request: HttpRequest,
        objects: Iterable[Model],
        service: Callable[[Membership, Model], Any],
        *,
        done: str,
        nothing: str = "Nothing to change.",
    ) -> list:
        """Call `service(actor, obj)` for each object; report the successes and each refusal. Returns the results."""
        actor = self.actor(request)
        results, refusals = [], []
        for obj in objects:
            try:
                results.append(service(actor, obj))
            except DomainError as exc:
                refusals.append(f"{self.action_label(obj)}: {exc.message}")
        if results:
            self.message_user(request, done.format(count=len(results)), messages.SUCCESS)
        for refusal in refusals:
            self.message_user(request, refusal, messages.WARNING)
        if not results and not refusals:
            self.message_user(request, nothing, messages.INFO)
        return results


class ServiceInline(admin.TabularInline):
    """Inline rows that the parent's service replaces as a whole (the parent's actor rules apply)."""

    form = ServiceForm
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return admin_actor(request) is not None

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return admin_actor(request) is not None

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return admin_actor(request) is not None

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True
