"""Invitations API (thin: parse, call accounts.invitations, render)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts import invitations
from accounts.access import request_membership
from accounts.api import SessionSerializer, session_payload
from accounts.invitation_serializers import (
    INVITATION_CREATE_RESPONSES,
    InvitationCreateSerializer,
    InvitationSerializer,
)
from accounts.models import Invitation
from accounts.permissions import IsOrganizationManager
from spacemanager.openapi import ERROR_RESPONSES, error_response


def invitations_of(request):
    return Invitation.objects.select_related("invited_by").filter(organization=request.tenant)


@extend_schema(tags=["invitations"])
class InvitationListView(GenericAPIView):
    """Invitations of this organization, newest first, each with its status (owners and admins)."""

    permission_classes = [IsOrganizationManager]
    serializer_class = InvitationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return Invitation.objects.none()
        return invitations_of(self.request)

    @extend_schema(responses={200: InvitationSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)})
    def get(self, request):
        """List invitations

        Invitations of this organization, newest first, each with its status (owners and admins).
        """
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        request=InvitationCreateSerializer,
        responses=INVITATION_CREATE_RESPONSES,
        examples=[OpenApiExample("Invite a colleague", value={"email": "sam@example.com", "role": "member"})],
    )
    def post(self, request):
        """Invite someone

        Emails a link to join with a role (only owners invite owners). The answer is the same whether or not the
        address already has an account, so it reveals nothing about the person.
        """
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = invitations.invitation_create(
            actor=request_membership(request._request), organization=request.tenant, **data.validated_data
        )
        return Response(InvitationSerializer(issued.invitation).data, status=status.HTTP_201_CREATED)


class InvitationObjectMixin:
    permission_classes = [IsOrganizationManager]
    serializer_class = InvitationSerializer

    def get_object(self) -> Invitation:
        return get_object_or_404(invitations_of(self.request), pk=self.kwargs["pk"])


@extend_schema(tags=["invitations"])
class InvitationDetailView(InvitationObjectMixin, GenericAPIView):
    @extend_schema(
        responses={
            204: None,
            **ERROR_RESPONSES.for_codes(401, 403, 404),
            409: error_response("invitation_accepted"),
        }
    )
    def delete(self, request, pk: int):
        """Revoke: the link stops working at once. Revoking twice is harmless."""
        invitations.invitation_revoke(actor=request_membership(request._request), invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["invitations"])
class InvitationResendView(InvitationObjectMixin, GenericAPIView):
    @extend_schema(
        request=None,
        responses={
            200: InvitationSerializer,
            **ERROR_RESPONSES.for_codes(401, 403, 404),
            409: error_response("invitation_revoked", description="invitation_accepted or invitation_revoked"),
        },
    )
    def post(self, request, pk: int):
        """Email a new link with a new expiry; the previous link stops working."""
        issued = invitations.invitation_resend(actor=request_membership(request._request), invitation=self.get_object())
        return Response(InvitationSerializer(issued.invitation).data)


class AnyOrganizationIdentity(JWTAuthentication):
    """Who the caller is, from an access token of ANY organization, without membership here.

    Only for accepting an invitation: the person is not a member of this organization yet, so their token
    comes from another one. It proves the account; the invitation decides the membership.
    """

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class AnyOrganizationIdentityScheme(SimpleJWTScheme):
    """In the schema: the same bearer token as everywhere (here optional, and from any organization)."""

    target_class = AnyOrganizationIdentity
    name = "anyOrganizationJwtAuth"


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    full_name = serializers.CharField(max_length=150, required=False, default="")
    password = serializers.CharField(
        max_length=128,
        required=False,
        default=None,
        trim_whitespace=False,
        help_text="For a new account only; an existing account accepts with its access token instead.",
    )


@extend_schema(tags=["invitations"])
class InvitationAcceptView(GenericAPIView):
    """Join this organization with the token of an invitation link.

    A new person sends `full_name` and `password`; a person who has an account sends its access token
    (from any organization) as `Authorization: Bearer …`. The answer is a session on this organization, as
    login gives.
    """

    authentication_classes = [AnyOrganizationIdentity]
    permission_classes = [AllowAny]
    serializer_class = InvitationAcceptSerializer

    @extend_schema(
        request=InvitationAcceptSerializer,
        responses={
            201: SessionSerializer,
            400: ERROR_RESPONSES[400],
            401: error_response("token_not_valid"),
            403: error_response("invitation_wrong_account", description="invitation_wrong_account or login_required"),
            404: error_response("invitation_invalid"),
            409: error_response("already_member"),
            410: error_response(
                "invitation_expired", description="invitation_expired, invitation_revoked or invitation_accepted"
            ),
        },
    )
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = request.user if request.user.is_authenticated else None
        membership = invitations.invitation_accept(
            token=values["token"],
            organization=request.tenant,
            user=user,
            full_name=values["full_name"],
            password=None if user else values["password"],
        )
        return Response(session_payload(membership, request), status=status.HTTP_201_CREATED)
