"""The equipment pages' form; the rules stay in equipment.services."""

from decimal import Decimal
from typing import Any

from django import forms

from equipment.models import MAX_QUANTITY, Item
from spaces.models import Location


class ItemForm(forms.Form):
    name = forms.CharField(max_length=120)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, initial=1, help_text="How many there are.")
    price_per_booking = forms.DecimalField(
        required=False, min_value=Decimal(0), max_digits=10, decimal_places=2, help_text="Or a price per hour."
    )
    price_per_hour = forms.DecimalField(
        required=False, min_value=Decimal(0), max_digits=10, decimal_places=2, help_text="Or a price per booking."
    )
    location = forms.ModelChoiceField(queryset=Location.objects.all(), required=False, empty_label="No location")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    @staticmethod
    def initial_for(item: Item) -> dict[str, Any]:
        return {
            "name": item.name,
            "quantity": item.quantity,
            "price_per_booking": item.price_per_booking,
            "price_per_hour": item.price_per_hour,
            "location": item.location_id,
            "description": item.description,
        }

    @property
    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "quantity": data["quantity"],
            "price_per_booking": data["price_per_booking"],
            "price_per_hour": data["price_per_hour"],
            "location_id": data["location"].pk if data["location"] else None,
            "description": data["description"],
        }


class WeekForm(forms.Form):
    week = forms.DateField(required=False)
