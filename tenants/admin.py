"""Organizations and domains in the platform admin (public site, superusers only).

Writes that carry rules go through tenants.services: creating provisions the schema and the owner,
(de)activating and deleting use the same services as the management commands.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import Membership
from spacemanager.errors import DomainError
from tenants import services
from tenants.models import Domain, Organization
from tenants.selectors import organization_list, organization_usage_counts
from tenants.validators import (
    SLUG_MAX_LENGTH,
    validate_currency_code,
    validate_organization_slug,
    validate_timezone_name,
)


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.CharField(
        max_length=SLUG_MAX_LENGTH,
        validators=[validate_organization_slug],
        help_text="The subdomain: 3-40 lowercase letters, digits and hyphens. It cannot be changed later.",
    )
    timezone = forms.CharField(max_length=64, initial="UTC", validators=[validate_timezone_name])
    currency = forms.CharField(max_length=3, initial="EUR", validators=[validate_currency_code])
    owner_email = forms.EmailField(
        max_length=254,
        help_text="An existing account becomes the owner; a new one gets no password and sets it by password reset.",
    )
    owner_full_name = forms.CharField(max_length=150, required=False)

    # Fields named by the services' errors, mapped to this form's fields.
    SERVICE_FIELDS = {"organization_slug": "slug", "email": "owner_email", "organization_name": "name"}


class OrganizationChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # The usage counters are read for the page's rows only, after the paging, in one query: joined to the
        # changelist's queryset, they would follow it into the date hierarchy, the filters and the COUNT.
        usage = organization_usage_counts(organization_ids=[organization.pk for organization in self.result_list])
        for organization in self.result_list:
            counts = usage[organization.pk]
            organization.member_count = counts.members
            organization.space_count = counts.spaces
            organization.reservation_count = counts.reservations


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "primary_domain",
        "members",
        "spaces",
        "reservations",
        "created_at",
        "is_active",
    ]
    list_filter = ["is_active", "created_at", "timezone", "currency"]
    search_fields = ["name", "slug", "domains__domain"]
    date_hierarchy = "created_at"
    actions = ["deactivate", "reactivate"]
    fields = ["name", "slug", "schema_name", "timezone", "currency", "is_active", "created_at"]
    readonly_fields = ["slug", "schema_name", "is_active", "created_at"]
    list_per_page = 50
    # Pages in the order of the index on (name, id); no COUNT of every organization beside the filtered one.
    ordering = ["name", "pk"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return organization_list()

    def get_changelist(self, request: HttpRequest, **kwargs):
        return OrganizationChangeList

    def get_actions(self, request: HttpRequest):
        # The bulk delete would skip the schema drop (QuerySet.delete); delete one at a time instead.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="domain", ordering="primary_domain")
    def primary_domain(self, organization: Organization) -> str:
        return organization.primary_domain or "—"

    @admin.display(description="members")
    def members(self, organization: Organization) -> int:
        return organization.member_count

    @admin.display(description="spaces")
    def spaces(self, organization: Organization) -> int:
        return organization.space_count

    @admin.display(description="reservations")
    def reservations(self, organization: Organization) -> int:
        return organization.reservation_count

    @admin.action(description="Deactivate selected organizations (their sites answer 404)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        for organization in queryset:
            services.organization_deactivate(organization=organization)
        self.message_user(request, f"Deactivated {len(queryset)} organization(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected organizations")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        for organization in queryset:
            services.organization_reactivate(organization=organization)
        self.message_user(request, f"Reactivated {len(queryset)} organization(s).", messages.SUCCESS)

    def get_deleted_objects(self, objs, request: HttpRequest):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Memberships go with their organization; the membership admin's ban on deleting one does not apply.
        perms_needed.discard(Membership._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Organization) -> None:
        services.organization_delete(organization=obj)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        """Creating an organization is provisioning (schema, domain, owner): the service does it, not a ModelForm."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OrganizationCreateForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            values = form.cleaned_data
            try:
                registration = services.organization_register(
                    organization_name=values["name"],
                    organization_slug=values["slug"],
                    owner_email=values["owner_email"],
                    owner_password=None,
                    owner_full_name=values["owner_full_name"],
                    timezone=values["timezone"],
                    currency=values["currency"],
                    allow_existing_owner=True,
                )
            except DomainError as exc:
                form.add_error(OrganizationCreateForm.SERVICE_FIELDS.get(exc.field or "", None), exc.message)
            else:
                organization = registration.organization
                self.log_addition(request, organization, [{"added": {}}])
                self.message_user(
                    request,
                    f"Created {organization.name} at {organization.url()} owned by {registration.owner.email}.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:tenants_organization_change", args=[organization.pk]))
        admin_form = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": "Add organization",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_save_and_add_another": False,
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]

    def _is_public_site_domain(self, obj: Domain | None) -> bool:
        return obj is not None and obj.tenant.is_public

    def has_change_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        # The public site's domain follows BASE_DOMAIN (set at every migrate); editing it here would be undone.
        return super().has_change_permission(request, obj) and not self._is_public_site_domain(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._is_public_site_domain(obj)
