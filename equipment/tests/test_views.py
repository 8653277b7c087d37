"""Equipment pages: members see the catalogue; owners and admins add, change, delete and see the week's use."""

from datetime import UTC, datetime, timedelta

import pytest

from equipment.models import Item
from equipment.services import EquipmentRequest
from equipment.tests.factories import ItemFactory
from reservations.services import reservation_create
from spaces.tests.factories import SpaceFactory

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)


@pytest.mark.django_db
def test_members_see_the_catalogue_without_the_managers_links(org, in_tenant, web_client):
    ItemFactory(name="Monitor", quantity=4)
    html = web_client(org, org.member).get("/equipment/").content.decode()
    assert "Monitor" in html
    assert "Add equipment" not in html and "Use this week" not in html
    assert web_client(org, org.member).get("/equipment/new/").status_code == 403
    assert web_client(org).get("/equipment/").status_code == 302  # to the login


@pytest.mark.django_db
def test_an_admin_adds_an_item_and_a_bad_one_shows_its_error(org, in_tenant, web_client):
    client = web_client(org, org.admin)
    added = client.post("/equipment/new/", {"name": "Projector", "quantity": 2, "price_per_booking": "15.00"})
    assert added.status_code == 302
    assert Item.objects.get().name == "Projector"
    both = client.post(
        "/equipment/new/", {"name": "Chairs", "quantity": 2, "price_per_booking": "1", "price_per_hour": "1"}
    )
    assert both.status_code == 400
    assert "not both" in both.content.decode()
    taken = client.post("/equipment/new/", {"name": "Projector", "quantity": 1})
    assert taken.status_code == 400 and "exists already" in taken.content.decode()
    assert Item.objects.count() == 1


@pytest.mark.django_db
def test_an_admin_edits_and_deletes_an_item(org, in_tenant, web_client):
    item = ItemFactory(name="Monitor")
    client = web_client(org, org.admin)
    assert client.post(f"/equipment/{item.pk}/edit/", {"name": "Screen", "quantity": 5}).status_code == 302
    item.refresh_from_db()
    assert (item.name, item.quantity) == ("Screen", 5)
    assert client.post(f"/equipment/{item.pk}/delete/").status_code == 302
    assert client.get(f"/equipment/{item.pk}/edit/").status_code == 404


@pytest.mark.django_db
def test_the_week_page_shows_the_most_held_at_once_and_who_holds_it(org, in_tenant, web_client, booking_now):
    monitor = ItemFactory(name="Monitor", quantity=3)
    member = in_tenant.membership(in_tenant.member)
    for hours in (0, 0.5):
        reservation_create(
            actor=member,
            space_id=SpaceFactory().pk,
            starts_at=MONDAY_9 + timedelta(hours=hours),
            ends_at=MONDAY_9 + timedelta(hours=hours + 1),
            equipment=[EquipmentRequest(monitor.pk, 1)],
        )
    page = web_client(org, org.admin).get(f"/equipment/{monitor.pk}/week/", {"week": "2025-03-12"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "week of 10 March 2025" in html
    monday_row = html.split("Monday 10 Mar")[1].split("</tr>")[0]
    assert '<td class="text-end">2</td>' in monday_row and '<td class="text-end">1</td>' in monday_row
    assert "member@alpha.test" in monday_row
    assert web_client(org, org.member).get(f"/equipment/{monitor.pk}/week/").status_code == 403
    assert web_client(org, org.admin).get(f"/equipment/{monitor.pk}/week/", {"week": "soon"}).status_code == 200
