from django import template

from billing.money import money_format

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """`{{ invoice.total|money:invoice.currency }}`: billing.money.money_format."""
    return money_format(amount, currency)
