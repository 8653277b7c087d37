"""Every date-time input refuses what PostgreSQL cannot store (offsets beyond ±15:59) with a 400, not a 500."""

from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from spaces.api import AvailabilityQuerySerializer, availability_window
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

TOO_FAR_EAST = "2027-01-01T00:00:00+20:00"
TOO_FAR_WEST = "2027-01-01T00:00:00-16:00"
EDGE = "2027-01-01T00:00:00+15:59"


@pytest.mark.parametrize("value", [TOO_FAR_EAST, TOO_FAR_WEST])
@pytest.mark.parametrize("name", ["from", "to"])
def test_reservation_filters_refuse_offsets_postgresql_cannot_store(api_client, org, name, value):
    response = api_client(org, org.member).get("/api/v1/reservations", {name: value})

    assert response.status_code == 400
    assert response.json()[name] == ["The UTC offset must be between -15:59 and +15:59."]


def test_an_unencoded_plus_in_the_query_string_is_judged_the_same(api_client, org):
    response = api_client(org, org.member).get("/api/v1/reservations?from=2027-01-01T00:00:00+20:00")

    assert response.status_code == 400


@pytest.mark.parametrize("name", ["available_from", "available_to"])
def test_free_space_search_refuses_offsets_postgresql_cannot_store(api_client, org, name):
    other = "available_to" if name == "available_from" else "available_from"
    query = {name: TOO_FAR_EAST, other: "2027-01-01T10:00:00Z"}

    response = api_client(org, org.member).get("/api/v1/spaces", query)

    assert response.status_code == 400
    assert "between -15:59 and +15:59" in response.json()[name][0]


def test_availability_refuses_offsets_postgresql_cannot_store(api_client, org, in_tenant):
    space = SpaceFactory()

    response = api_client(org, org.member).get(
        f"/api/v1/spaces/{space.pk}/availability", {"start": TOO_FAR_EAST, "end": "2027-01-02T00:00:00Z"}
    )

    assert response.status_code == 400
    assert "between -15:59 and +15:59" in response.json()["start"][0]


def test_a_booking_body_refuses_offsets_postgresql_cannot_store(api_client, org, in_tenant):
    space = SpaceFactory()
    body = {"space": space.pk, "starts_at": TOO_FAR_WEST, "ends_at": "2027-01-01T20:00:00Z"}

    response = api_client(org, org.member).post("/api/v1/reservations", body, format="json")

    assert response.status_code == 400
    assert "between -15:59 and +15:59" in response.json()["starts_at"][0]


def test_the_largest_storable_offset_is_accepted(api_client, org):
    assert api_client(org, org.member).get("/api/v1/reservations", {"from": EDGE}).status_code == 200


@pytest.mark.parametrize(("typed", "parsed"), [("9:30", "09:30"), ("14:00", "14:00"), ("00:00", "00:00")])
def test_clock_inputs_take_24_hour_times_and_show_them_back_as_hh_mm(typed, parsed):
    from django import forms

    from spaces.timefields import CLOCK_PATTERN, ClockInput

    class Form(forms.Form):
        start = forms.TimeField(widget=ClockInput())

    form = Form({"start": typed})
    assert form.is_valid()
    assert form.cleaned_data["start"].strftime("%H:%M") == parsed
    html = str(Form(initial={"start": form.cleaned_data["start"]})["start"])
    assert 'type="text"' in html
    assert f'value="{parsed}"' in html
    assert f'pattern="{CLOCK_PATTERN}"' in html
    assert 'placeholder="HH:MM"' in html


@pytest.mark.parametrize("typed", ["2:30 PM", "25:00", "noon"])
def test_clock_inputs_refuse_what_is_not_a_24_hour_time(typed):
    from django import forms

    from spaces.timefields import ClockInput

    class Form(forms.Form):
        start = forms.TimeField(widget=ClockInput())

    form = Form({"start": typed})
    assert not form.is_valid()
    assert form.errors["start"] == ["Enter a valid time."]


@pytest.mark.parametrize(
    "query",
    [
        "start=2027-01-01T00:00:00%2B01:00&end=2027-01-08T00:00:00Z",
        "start=2027-01-01T00:00:00+01:00&end=2027-01-02T00:00:00-05:30",  # an unencoded plus
        "start=2027-01-01T00:00:00.250Z&end=2027-01-01T12:00:00Z",
        "start=2027-01-01T00:00:00&end=2027-01-02T00:00:00Z",  # naive
        f"start={TOO_FAR_EAST.replace('+', '%2B')}&end=2027-01-02T00:00:00Z",
        "start=2027-13-01T00:00:00Z&end=2027-01-02T00:00:00Z",
        "start=&end=2027-01-02T00:00:00Z",
        "start=2027-01-01T00:00:00Z",
        "start=2027-01-01T00:00:00Z&start=2027-01-03T00:00:00Z&end=2027-01-04T00:00:00Z",
        "start=2027-01-01T00:00:00Z&end=2027-01-04T00:00:00Z&other=1",
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_the_availability_window_is_read_as_its_serializer_reads_it(query, zone):
    """spaces.api.availability_window parses the usual query with the serializer's fields: the same values,
    time zones and errors as AvailabilityQuerySerializer."""
    params = QueryDict(query)
    with timezone.override(ZoneInfo(zone)):
        serializer = AvailabilityQuerySerializer(data=params)
        if serializer.is_valid():
            expected = (serializer.validated_data["start"], serializer.validated_data["end"])
            got = availability_window(params)
            assert got == expected
            assert [value.tzinfo for value in got] == [value.tzinfo for value in expected]
            assert [value.isoformat() for value in got] == [value.isoformat() for value in expected]
        else:
            with pytest.raises(ValidationError) as refused:
                availability_window(params)
            assert refused.value.detail == serializer.errors
