"""Forms of the organization site's account pages. Field names are the API's JSON names."""

import unicodedata
from collections.abc import Iterator

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from accounts.login_limits import login_authenticate
from accounts.models import REMINDER_LEAD_CHOICES, Membership, User
from accounts.selectors import membership_get
from accounts.sso import password_login_refusal
from tenants.models import Organization


class LoginForm(forms.Form):
    """Email and password, accepted only for a member of this host's organization.

    Wrong password, unknown email and "not a member here" give the same message, so the form does not tell
    a stranger who has an account. The signature matches Django's AuthenticationForm, so LoginView can use it.
    """

    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    invalid_login = "Wrong email or password, or this account is not a member of this organization."

    def __init__(self, request=None, *args, **kwargs) -> None:
        self.request = request
        self.user_cache: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            organization = getattr(self.request, "tenant", None)
            # Raises LoginThrottled, which the view answers with the 429 page.
            membership = login_authenticate(
                self.request,
                email=email,
                password=password,
                accept=lambda user: membership_get(user=user, organization=organization) if organization else None,
            )
            if membership is None:
                raise forms.ValidationError(self.invalid_login, code="invalid_login")
            sso_refusal = password_login_refusal(membership)
            if sso_refusal:
                raise forms.ValidationError(sso_refusal, code="sso_required")
            self.user_cache = membership.user
        return cleaned

    def get_user(self) -> User | None:
        return self.user_cache


class MemberAddForm(forms.Form):
    """Invite someone: the person enters their own name and password when they accept."""

    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class InvitationNewAccountForm(forms.Form):
    """Accepting an invitation with a new account: the person's own name and password."""

    full_name = forms.CharField(
        max_length=150, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        strip=False,
        max_length=128,
        label="Choose a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class InvitationSignInForm(forms.Form):
    """Accepting an invitation with the account the invited address already has."""

    password = forms.CharField(
        strip=False,
        max_length=128,
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class OrganizationPasswordResetForm(PasswordResetForm):
    """Password reset for members of this organization only, so the email's link works where it is sent from.

    Unlike Django's form it also serves accounts without a usable password: people added by an admin set
    their first password this way.
    """

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        self.organization = organization
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autofocus"] = True

    def get_users(self, email: str) -> Iterator[User]:
        users = User.objects.with_email(email).filter(is_active=True, memberships__organization=self.organization)
        # Like Django's form: the database's case-insensitive match must also be a Unicode one, so that a
        # look-alike address cannot receive another person's reset link.
        wanted = unicodedata.normalize("NFKC", email).casefold()
        return (user for user in users if unicodedata.normalize("NFKC", user.email).casefold() == wanted)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses it, e.g. “Wall display, floor 2”.")
    access = forms.ChoiceField(
        choices=[("read", "Read only"), ("write", "Read and write")],
        initial="read",
        help_text="Either way the key can do no more than your own role allows.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="It stops working at the end of this day. Leave empty for a key that works until revoked.",
    )

    def scopes(self) -> list[str]:
        return ["read", "write"] if self.cleaned_data["access"] == "write" else ["read"]


class ProfileForm(forms.Form):
    """The person's own name and notification choices (field names are accounts.profile's arguments)."""

    full_name = forms.CharField(
        max_length=150, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    reminder_lead_minutes = forms.TypedChoiceField(
        choices=REMINDER_LEAD_CHOICES, coerce=int, label="Remind me before a booking starts"
    )
    email_booking_updates = forms.BooleanField(
        required=False, label="Email me when my bookings are made, approved, changed, declined or cancelled"
    )
    email_approval_requests = forms.BooleanField(
        required=False, label="Email me about requests waiting for my approval (owners and admins)"
    )

    @classmethod
    def for_user(cls, user: User, data=None) -> "ProfileForm":
        initial = {
            "full_name": user.full_name,
            "reminder_lead_minutes": user.reminder_lead,
            "email_booking_updates": user.email_booking_updates,
            "email_approval_requests": user.email_approval_requests,
        }
        return cls(data=data, initial=initial)


class FindByEmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254, label="Your email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
