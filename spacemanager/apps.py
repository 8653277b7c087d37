from django.contrib.admin.apps import AdminConfig


class PlatformAdminConfig(AdminConfig):
    """django.contrib.admin with the superuser-only site (spacemanager.admin.PlatformAdminSite)."""

    default_site = "spacemanager.admin.PlatformAdminSite"
