"""Money as people read it, in one place: invoices, their PDF, CSV, emails and pages all call `money_format`
(templates through the `money` filter in billing/templatetags/billing.py). Swap in locale-aware formatting
(e.g. Babel's `format_currency`) here and everything follows."""

from decimal import Decimal


def money_format(amount: Decimal | int | float | str | None, currency: str) -> str:
    """`1234.5, "EUR"` -> `1,234.50 EUR`; nothing for no amount."""
    if amount is None or amount == "":
        return ""
    return f"{Decimal(amount):,.2f} {currency}"
