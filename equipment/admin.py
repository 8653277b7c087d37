from django.contrib import admin

from equipment.models import Item
from spacemanager.admin import organization_admin_site


@admin.register(Item, site=organization_admin_site)
class ItemAdmin(admin.ModelAdmin):
    """Read-only here: items change through the equipment pages and API, where their rules live."""

    list_display = ["name", "quantity", "price_per_booking", "price_per_hour", "location", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
