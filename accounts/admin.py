"""People and memberships in the platform admin (public site, superusers only).

People are deactivated, never deleted (tenant tables point at them without a constraint; TENANCY.md).
Memberships can be added here (e.g. a new owner for an orphaned organization); role changes and removals
happen in the organization itself, where the last-owner rule lives (accounts.services).
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import ApiKey, Invitation, Membership, SsoProvider, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["organization", "role", "created_at"]
    readonly_fields = ["organization", "role", "created_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ["email", "full_name", "is_active", "is_staff", "is_superuser", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [MembershipInline]
    actions = ["deactivate"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["full_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "usable_password", "password1", "password2"]}),
    ]

    def get_inlines(self, request: HttpRequest, obj: User | None):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_deactivate(user=obj)  # ends their API tokens too
        super().save_model(request, obj, form, change)

    @admin.action(description="Deactivate selected people (they can no longer log in anywhere)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.filter(is_active=True):
            services.user_deactivate(user=user)
        self.message_user(request, f"Deactivated {len(queryset)} account(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__full_name", "organization__name", "organization__slug"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        # Changing a role could demote the last owner; the organization's members page enforces that rule.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Operators look; the organization's owners and admins act (their pages hold the rules)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "organization__slug"]
    list_select_related = ["organization"]
    exclude = ["token_hash"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "prefix",
        "organization",
        "created_by",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    search_fields = ["name", "prefix", "organization__slug", "created_by__email"]
    list_select_related = ["organization", "created_by"]
    exclude = ["key_hash"]


@admin.register(SsoProvider)
class SsoProviderAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "issuer", "role", "is_active", "created_at"]
    search_fields = ["name", "issuer", "organization__slug"]
    list_select_related = ["organization"]
    exclude = ["client_secret_encrypted"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
