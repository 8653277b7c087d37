"""Money for people: the organization's currency in its CLDR format, through Babel."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from spacemanager.money import money_format


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1398.50"), "EUR", "€1,398.50"),
        (Decimal("12"), "CHF", "CHF12.00"),
        (Decimal("1200"), "JPY", "¥1,200"),
        ("25.00", "USD", "$25.00"),
        (None, "EUR", ""),
    ],
)
def test_amounts_are_shown_in_the_currencys_format(amount, currency, shown):
    assert money_format(amount, currency) == shown


def test_the_template_filter_formats_like_the_function():
    rendered = Template("{% load ui %}{{ price|money:currency }}").render(
        Context({"price": Decimal("1398.5"), "currency": "EUR"})
    )
    assert rendered == "€1,398.50"
