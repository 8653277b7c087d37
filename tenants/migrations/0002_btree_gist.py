"""btree_gist, created once in the public schema.

Reservations' exclusion constraint needs it in every tenant schema. Created from a tenant app's migration it
would land in the first tenant's schema, and dropping that tenant would silently drop every tenant's
constraint (TENANCY.md). Tenant migrations that need it depend on this one; tenant search paths include
public, so its operators resolve everywhere.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [BtreeGistExtension()]
