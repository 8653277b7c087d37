from django.conf import settings
from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def ensure_public_tenant(sender, app_config, **kwargs) -> None:
    # post_migrate fires once per app and per schema; the public row belongs to the public schema only.
    if app_config.label != "tenants" or connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    from tenants.services import public_tenant_ensure

    public_tenant_ensure()
