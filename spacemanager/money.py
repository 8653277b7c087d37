"""Money as people read it: "€1,398.50", not "1398.50 EUR", through Babel's CLDR data (format_currency).

Amounts are Decimals in the organization's ISO 4217 currency (validated by tenants.validators); the number
format follows `MONEY_LOCALE` (from LANGUAGE_CODE, en-US by default). Pages and emails show money only
through `money_format` (the `money` template filter); the API keeps plain decimal strings and the code.
"""

from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import UnknownCurrencyError, format_currency
from django.conf import settings
from django.utils.translation import to_locale


@cache
def _locale() -> Locale:
    return Locale.parse(to_locale(getattr(settings, "MONEY_LOCALE", settings.LANGUAGE_CODE)))


def money_format(amount: Decimal | str | float | int | None, currency: str) -> str:
    """`amount` in `currency` for people, e.g. "€1,398.50", "CHF12.00", "¥1,200"; "" for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    try:
        return format_currency(value, currency, locale=_locale())
    except UnknownCurrencyError:  # not an ISO 4217 code (organizations' currencies are validated)
        return f"{value} {currency}"
