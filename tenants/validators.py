"""Rules for organization slugs, time zones and currencies: one place, used by models, forms and serializers."""

import re
import unicodedata
import zoneinfo
from functools import cache

import pycountry
from django.core.exceptions import ValidationError

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 40

# Hosts and words that would confuse people or collide with infrastructure if they became a subdomain.
RESERVED_SLUGS = frozenset(
    {
        "www", "admin", "administrator", "api", "app", "apps", "assets", "auth", "billing", "blog", "cdn",
        "dashboard", "demo-template", "dev", "docs", "email", "ftp", "help", "imap", "internal", "login",
        "mail", "media", "mx", "news", "ns1", "ns2", "pop", "pop3", "postgres", "public", "root", "signup",
        "smtp", "spacemanager", "staff", "staging", "static", "status", "support", "system", "template",
        "test", "webmail",
    }
)  # fmt: skip


def validate_organization_slug(value: str) -> None:
    if not SLUG_MIN_LENGTH <= len(value) <= SLUG_MAX_LENGTH:
        raise ValidationError(f"Use {SLUG_MIN_LENGTH} to {SLUG_MAX_LENGTH} characters.", code="invalid_slug_length")
    if not SLUG_PATTERN.match(value):
        raise ValidationError(
            "Use only lowercase letters, digits and hyphens, and start and end with a letter or digit.",
            code="invalid_slug",
        )
    if "--" in value:
        raise ValidationError("Hyphens cannot follow each other.", code="invalid_slug")
    if value in RESERVED_SLUGS or value.startswith("pg-"):
        raise ValidationError(f"“{value}” is reserved; please choose another.", code="reserved_slug")


def slug_from_name(name: str) -> str:
    """The address suggested for an organization's name: "Café Zürich & Co" → "cafe-zurich-co".

    static/js/signup.js suggests the same as the person types; the sign-up form uses it when the address is
    left empty. The result may still be refused (too short, reserved, taken): it is only a suggestion.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-")


# In the tz database but not zones a person lives in: the machine's own zone, a placeholder, rule files.
NOT_REAL_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def timezone_names() -> frozenset[str]:
    """IANA time zone names an organization can use (the same list the settings page offers)."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in NOT_REAL_ZONES and not name.startswith(("posix/", "right/"))
    )


def validate_timezone_name(value: str) -> None:
    if value not in timezone_names():
        raise ValidationError(
            f"“{value}” is not a known time zone; use an IANA name such as Europe/Paris or UTC.",
            code="invalid_timezone",
        )


@cache
def currency_codes() -> frozenset[str]:
    """ISO 4217's alphabetic codes, from pycountry's copy of the standard."""
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def validate_currency_code(value: str) -> None:
    if value not in currency_codes():
        raise ValidationError(
            f"“{value}” is not a three-letter ISO 4217 currency code; use one such as EUR, USD or GBP.",
            code="invalid_currency",
        )
