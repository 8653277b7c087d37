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
