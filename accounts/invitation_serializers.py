"""The invitation's representation, shared by the invitations API and `POST /api/v1/members`."""

from rest_framework import serializers

from accounts.models import Invitation, Membership
from spacemanager.openapi import ERROR_RESPONSES, error_response


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation as owners and admins see it: the address they typed, never anything about an account."""

    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by", "created_at", "sent_at", "expires_at", "accepted_at"]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


INVITATION_CREATE_RESPONSES = {
    201: InvitationSerializer,
    **ERROR_RESPONSES.for_codes(400, 401, 403),
    409: error_response("already_invited", description="already_member or already_invited"),
}
