"""Every distinct free-text `location` of the spaces becomes a Location, and each space points at its own.

The text stays (the schedule's location filter and search read it; it can also say more, like directions);
the new `site` foreign key is what floor plans and positions hang off. Reversing only unlinks: Locations
made here may have floor plans by then, and are kept.
"""

from django.db import migrations

NAME_MAX = 120  # Location.name


def forward(apps, schema_editor):
    Location = apps.get_model("spaces", "Location")
    Space = apps.get_model("spaces", "Space")
    texts = (
        Space.objects.filter(site__isnull=True).exclude(location="").values_list("location", flat=True).distinct()
    )
    for text in texts:
        name = text.strip()[:NAME_MAX]
        if not name:
            continue
        location, _ = Location.objects.get_or_create(name=name)
        Space.objects.filter(site__isnull=True, location=text).update(site=location)


def backward(apps, schema_editor):
    apps.get_model("spaces", "Space").objects.update(site=None, plan_x=None, plan_y=None)


class Migration(migrations.Migration):
    # A new organization's schema (built from the models, tenants/schema.py) has no spaces to convert.
    only_converts_existing_rows = True

    dependencies = [("spaces", "0007_photos_floor_plans")]

    operations = [migrations.RunPython(forward, backward)]
