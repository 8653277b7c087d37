"""Forms of the public site (sign-up, find my organization) and of an organization's settings page.

Field names are the API's JSON names; the field rules come from tenants.validators, the same functions the
models and serializers use.
"""

from django import forms

from tenants.models import Organization
from tenants.selectors import organization_find
from tenants.services import registration_problems
from tenants.validators import (
    SLUG_MAX_LENGTH,
    slug_from_name,
    timezone_names,
    validate_currency_code,
    validate_organization_slug,
    validate_timezone_name,
)


def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(timezone_names() - {"UTC"})
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


class SlugField(forms.CharField):
    """An organization's address: forgiving about case and spaces, strict about everything else."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", SLUG_MAX_LENGTH)
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"})

    def to_python(self, value):
        return super().to_python(value).lower()


class SignupForm(forms.Form):
    # Fields checked as soon as the person leaves them (htmx posts the form; the view answers with the field).
    # Not the password: its block would come back empty (passwords are never rendered into pages).
    INLINE_FIELDS = ("email", "organization_slug")

    full_name = forms.CharField(
        max_length=150, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True})
    )
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not too common and not like your name or email.",
    )
    organization_name = forms.CharField(
        max_length=100, label="Organization name", widget=forms.TextInput(attrs={"autocomplete": "organization"})
    )
    organization_slug = SlugField(
        label="Web address",
        validators=[validate_organization_slug],
        help_text=(
            "Lowercase letters, digits and hyphens, such as acme-studios; suggested from the name."
            " It cannot be changed later."
        ),
    )
    timezone = forms.ChoiceField(
        choices=timezone_choices,
        required=False,
        initial="UTC",
        label="Time zone",
        help_text="Bookings are shown in this time zone. You can change it later.",
    )

    # The registration service and the model name some fields differently.
    SERVICE_FIELD_MAP = {"name": "organization_name", "slug": "organization_slug"}

    def __init__(self, data=None, **kwargs) -> None:
        if data is not None and not data.get("organization_slug", "").strip() and data.get("organization_name"):
            # Left empty (or no JavaScript to suggest it): the address the name suggests, shown if refused.
            data = data.copy()
            data["organization_slug"] = slug_from_name(data["organization_name"])
        super().__init__(data, **kwargs)

    def clean_timezone(self) -> str:
        return self.cleaned_data.get("timezone") or "UTC"

    def clean(self) -> dict:
        """Every error at once: the service's checks (taken address or email, weak password) run beside the
        fields' own, for the values those let through."""
        values = super().clean()
        problems = registration_problems(
            organization_slug=values.get("organization_slug"),
            owner_email=values.get("email"),
            owner_password=values.get("password"),
            owner_full_name=values.get("full_name", ""),
        )
        for problem in problems:
            field = self.SERVICE_FIELD_MAP.get(problem.field, problem.field)
            if field not in self.errors:
                self.add_error(field, forms.ValidationError(problem.message, code=problem.code))
        return values


class FindOrganizationForm(forms.Form):
    organization_slug = SlugField(label="Your organization's web address")

    def clean_organization_slug(self) -> str:
        slug = self.cleaned_data["organization_slug"]
        # People paste the whole address; keep what comes before the first dot.
        slug = slug.removeprefix("https://").removeprefix("http://").split(".", 1)[0].strip("/")
        organization = organization_find(slug=slug)
        if organization is None:
            raise forms.ValidationError("No organization uses this address. Check the spelling and try again.")
        self.organization = organization
        return slug


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")
    timezone = forms.ChoiceField(choices=timezone_choices, label="Time zone", validators=[validate_timezone_name])
    currency = forms.CharField(
        max_length=3,
        help_text="Three-letter ISO 4217 code, such as EUR, USD or GBP.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )

    default_max_upcoming_per_member = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        label="Upcoming bookings per member and space",
        help_text="Empty: no limit. A space's own limit replaces it. Owners and admins are exempt.",
    )
    default_max_hours_per_week_per_member = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=168,
        label="Hours per member, space and week",
        help_text="Empty: no limit. A space's own limit replaces it. Owners and admins are exempt.",
    )
    LIMIT_FIELDS = ("default_max_upcoming_per_member", "default_max_hours_per_week_per_member")
    default_check_in_required = forms.BooleanField(
        required=False,
        label="New spaces require check-in",
        help_text="Bookings nobody checks in by the end of the grace are released. Each space can change it.",
    )
    default_check_in_grace_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1440,
        label="Check-in grace for new spaces",
        help_text="Minutes after the start; empty: 15.",
    )
    display_show_titles = forms.BooleanField(
        required=False,
        label="Room displays show booking titles",
        help_text="Otherwise the tablet beside a room shows only that it is booked, and when.",
    )
    CHECK_IN_FIELDS = ("default_check_in_required", "default_check_in_grace_minutes", "display_show_titles")

    @classmethod
    def for_organization(cls, organization: Organization, data=None) -> "OrganizationSettingsForm":
        initial = {"name": organization.name, "timezone": organization.timezone, "currency": organization.currency}
        initial.update({name: getattr(organization, name) for name in (*cls.LIMIT_FIELDS, *cls.CHECK_IN_FIELDS)})
        return cls(data=data, initial=initial)

    @property
    def settings_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "timezone", "currency")}

    @property
    def limit_values(self) -> dict:
        return {name.removeprefix("default_"): self.cleaned_data[name] for name in self.LIMIT_FIELDS}

    @property
    def check_in_values(self) -> dict:
        grace = self.cleaned_data["default_check_in_grace_minutes"]
        return {
            "check_in_required": self.cleaned_data["default_check_in_required"],
            "check_in_grace_minutes": 15 if grace is None else grace,
            "display_show_titles": self.cleaned_data["display_show_titles"],
        }

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].upper()
        validate_currency_code(currency)
        return currency


def enable_inline_validation(form: forms.Form, url: str) -> forms.Form:
    """Let htmx re-check a field when it changes: the whole form is posted, the field's block comes back.

    Without JavaScript nothing changes: the errors appear after submitting, as usual.
    """
    for name in form.INLINE_FIELDS:
        form.fields[name].widget.attrs.update(
            {"hx-post": url, "hx-trigger": "change", "hx-target": f"#field-{name}", "hx-swap": "outerHTML"}
        )
    return form
