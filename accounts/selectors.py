from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import Membership, User
from tenants.models import Organization


def membership_get(*, user: User, organization: Organization) -> Membership | None:
    """The person's membership in this organization, or None. Inactive people have none anywhere."""
    if not user.is_authenticated or not user.is_active or organization.is_public:
        return None
    return (
        Membership.objects.select_related("user", "organization").filter(user=user, organization=organization).first()
    )


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=organization).order_by("created_at", "id")


def user_emails(*, user_ids: Iterable[int]) -> dict[int, str]:
    """Emails by user id, in one query: tenant tables keep bare user ids (no join into the public schema)."""
    ids = set(user_ids)
    if not ids:
        return {}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))


def user_ids_matching(*, email_contains: str) -> QuerySet[User]:
    """Ids of people whose email contains the text, as a subquery for tenant tables' `user_id__in`."""
    return User.objects.filter(email__icontains=email_contains).values("pk")


def user_list_members(*, organization: Organization) -> QuerySet[User]:
    """The organization's active people, by name: whom owners and admins may book for."""
    return User.objects.filter(memberships__organization=organization, is_active=True).order_by("full_name", "email")
