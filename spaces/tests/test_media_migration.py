import importlib

import pytest
from django.apps import apps

from spaces.models import Location, Space
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("spaces.migrations.0008_locations_from_text")


def test_each_distinct_location_text_becomes_a_location_its_spaces_point_at(in_tenant):
    blue, green = SpaceFactory(location="Floor 2"), SpaceFactory(location="Floor 2")
    annex, nowhere = SpaceFactory(location="Annex"), SpaceFactory(location="")
    Location.objects.create(name="Annex")  # already there: reused, not duplicated

    migration.forward(apps, None)

    assert sorted(Location.objects.values_list("name", flat=True)) == ["Annex", "Floor 2"]
    sites = dict(Space.objects.values_list("pk", "site__name"))
    assert (sites[blue.pk], sites[green.pk], sites[annex.pk], sites[nowhere.pk]) == (
        "Floor 2",
        "Floor 2",
        "Annex",
        None,
    )
    # The text stays: the schedule's location filter and search read it.
    assert Space.objects.filter(location="Floor 2").count() == 2

    migration.backward(apps, None)
    assert not Space.objects.filter(site__isnull=False).exists()
