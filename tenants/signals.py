from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from tenants.models import Domain, Organization


@receiver(post_migrate)
def ensure_public_tenant(sender, app_config, **kwargs) -> None:
    # post_migrate fires once per app and per schema; the public row belongs to the public schema only.
    if app_config.label != "tenants" or connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    from tenants.services import public_tenant_ensure

    public_tenant_ensure()


@receiver(post_save, sender=Organization, dispatch_uid="tenants.forget_hosts.organization_saved")
@receiver(post_delete, sender=Organization, dispatch_uid="tenants.forget_hosts.organization_deleted")
@receiver(post_save, sender=Domain, dispatch_uid="tenants.forget_hosts.domain_saved")
@receiver(post_delete, sender=Domain, dispatch_uid="tenants.forget_hosts.domain_deleted")
def forget_hosts(**kwargs) -> None:
    """A deactivated, renamed or deleted organization (or a moved domain) is served as it now is, at once."""
    from tenants.middleware import forget_organization_hosts

    # Again after commit: a request in another thread may have cached the old row meanwhile.
    forget_organization_hosts()
    transaction.on_commit(forget_organization_hosts)
