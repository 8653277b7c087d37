"""Auth and members API (thin: parse, call a service or selector, render)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import invitations, services
from accounts.access import request_membership
from accounts.authentication import TokenChallengeOnly, membership_for_token
from accounts.invitation_serializers import INVITATION_CREATE_RESPONSES, InvitationSerializer
from accounts.login_limits import LoginThrottled, login_authenticate
from accounts.models import Membership, User
from accounts.permissions import IsOrganizationManager
from accounts.selectors import membership_get, membership_list
from accounts.sso import password_login_refusal
from accounts.tokens import (
    ORGANIZATION_CLAIM,
    OrganizationRefreshToken,
    refresh_token_rotate,
    tokens_for_membership,
)
from spacemanager.openapi import ERROR_RESPONSES, error_response
from spacemanager.ratelimit import wait_in_words
from tenants.selectors import organization_url_for_request


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]


class OrganizationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    timezone = serializers.CharField()
    currency = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, organization) -> str:
        return organization_url_for_request(organization, self.context.get("request"))


class SessionSerializer(serializers.Serializer):
    """What login returns: a token pair plus who you are here."""

    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    organization = OrganizationSummarySerializer()


def session_payload(membership: Membership, request) -> dict:
    return {
        **tokens_for_membership(membership),
        "user": UserSerializer(membership.user).data,
        "role": membership.role,
        "organization": OrganizationSummarySerializer(membership.organization, context={"request": request}).data,
    }


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_detail = "Invalid email or password."
    default_code = "invalid_credentials"


class LoginRefused(exceptions.Throttled):
    def __init__(self, retry_after: int) -> None:
        # Retry-After comes from `wait`; the message says it in words (DRF would append its own sentence).
        super().__init__(wait=retry_after)
        self.detail = exceptions.ErrorDetail(
            f"Too many failed logins. Please try again in {wait_in_words(retry_after)}.", code="throttled"
        )


@extend_schema(tags=["auth"])
class LoginView(GenericAPIView):
    """Log in on an organization's host and receive a token pair bound to that organization."""

    authentication_classes = [TokenChallengeOnly]
    permission_classes = [AllowAny]
    serializer_class = LoginInputSerializer
    # Failed logins are limited per account and address, per address and per account (accounts.login_limits).
    throttle_classes: list = []

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: SessionSerializer,
            400: ERROR_RESPONSES[400],
            401: error_response("invalid_credentials"),
            429: error_response("throttled", "Too many failed logins. Please try again in 8 seconds."),
        },
    )
    def post(self, request):
        """Log in.

        On an organization's host, a member's email and password give an access token and a refresh token
        bound to this organization, and who you are here. A wrong password, an unknown email and "not a member
        here" all answer the same 401 `invalid_credentials`. Rate limited per address and per account.
        """
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            # Wrong password, unknown email and "not a member here" must be indistinguishable.
            membership = login_authenticate(
                request._request,
                email=data.validated_data["email"],
                password=data.validated_data["password"],
                accept=lambda user: membership_get(user=user, organization=request.tenant),
            )
        except LoginThrottled as exc:
            raise LoginRefused(exc.retry_after) from exc
        if membership is None:
            raise InvalidCredentials()
        sso_refusal = password_login_refusal(membership)
        if sso_refusal:
            raise exceptions.PermissionDenied(sso_refusal, code="sso_required")
        return Response(session_payload(membership, request))


class OrganizationTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        try:
            refresh = OrganizationRefreshToken(attrs["refresh"])
            membership = membership_for_token(refresh, getattr(self.context["request"], "tenant", None))
            return refresh_token_rotate(refresh=refresh, membership=membership)
        except TokenError as exc:  # expired, forged, or spent (by an earlier or a racing refresh)
            raise InvalidToken(exc.args[0]) from exc


@extend_schema(tags=["auth"])
class RefreshView(GenericAPIView):
    """Trade a refresh token for a new access token and a new refresh token (the old one is blacklisted)."""

    authentication_classes = [TokenChallengeOnly]
    permission_classes = [AllowAny]
    serializer_class = OrganizationTokenRefreshSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "refresh"

    @extend_schema(
        responses={
            200: OrganizationTokenRefreshSerializer,
            401: error_response("token_not_valid"),
            429: error_response("throttled", "Request was throttled. Expected available in 60 seconds."),
        }
    )
    def post(self, request):
        """Refresh the tokens.

        Trade a refresh token for a new access token and a new refresh token; the old refresh token stops
        working. Only on the host of the organization that issued it (another host: 401
        `token_wrong_organization`).
        """
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


@extend_schema(tags=["auth"])
class LogoutView(GenericAPIView):
    """End the session: the refresh token is spent and every token the person holds stops working (on every
    device: the end time is per person). Logging out twice is harmless."""

    authentication_classes = [TokenChallengeOnly]
    permission_classes = [AllowAny]
    serializer_class = LogoutInputSerializer

    @extend_schema(responses={204: None, 400: ERROR_RESPONSES[400], 401: error_response("token_not_valid")})
    def post(self, request):
        """Log out.

        Revoke a refresh token: it can no longer be refreshed. Logging out twice is harmless.
        """
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(data.validated_data["refresh"])
        except TokenError as exc:
            if "blacklisted" in str(exc):
                return Response(status=status.HTTP_204_NO_CONTENT)
            raise InvalidToken(exc.args[0]) from exc
        if refresh.get(ORGANIZATION_CLAIM) != request.tenant.pk:
            raise InvalidToken("This token belongs to another organization.")
        refresh.blacklist()
        services.user_tokens_end(user_id=refresh[api_settings.USER_ID_CLAIM])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    organization = OrganizationSummarySerializer()


@extend_schema(tags=["auth"])
class MeView(APIView):
    """Who you are, in which organization, with which role."""

    @extend_schema(responses={200: MeSerializer, 401: ERROR_RESPONSES[401], 403: ERROR_RESPONSES[403]})
    def get(self, request):
        """Who am I.

        You, your role (owner, admin or member) and the organization whose host this is.
        """
        membership = request_membership(request._request)
        return Response(
            MeSerializer(
                {"user": membership.user, "role": membership.role, "organization": membership.organization},
                context={"request": request},
            ).data
        )


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    is_active = serializers.BooleanField(source="user.is_active", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user_id", "email", "full_name", "role", "is_active", "joined_at"]


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    # Named so the strict API lets validate() explain why it is refused (spacemanager/strict.py).
    password = serializers.CharField(
        required=False, write_only=True, help_text="Always refused: people choose it with the emailed reset link."
    )

    def validate(self, attrs):
        if "password" in self.initial_data:
            raise serializers.ValidationError(
                {"password": ["Only the person sets their password: they choose it with the emailed invitation."]}
            )
        return attrs


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


@extend_schema(tags=["members"])
class MemberListView(GenericAPIView):
    """Members of this organization (owners and admins)."""

    permission_classes = [IsOrganizationManager]
    serializer_class = MemberSerializer
    filter_backends = []  # no filters or ordering offered: the schema no longer promises an `ordering` it ignored

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return Membership.objects.none()
        return membership_list(organization=self.request.tenant)

    @extend_schema(responses={200: MemberSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)})
    def get(self, request):
        """List members.

        The people of this organization with their roles, oldest first (owners and admins).
        """
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        request=MemberCreateSerializer,
        responses=INVITATION_CREATE_RESPONSES,
        description=(
            "Invite a person: this creates an invitation (as `POST /api/v1/invitations` does) and emails them a "
            "link; they become a member when they accept it. The answer is the same whether or not the address "
            "already has an account, and shows nothing about that account. (Before invitations, this added the "
            "person at once.)"
        ),
        examples=[OpenApiExample("Invite a colleague", value={"email": "sam@example.com", "role": "member"})],
    )
    def post(self, request):
        """Add a member.

        Add a person by email with a role (owners and admins). Someone already in the organization: 409
        `already_member`.
        """
        data = MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = invitations.invitation_create(
            actor=request_membership(request._request), organization=request.tenant, **data.validated_data
        )
        return Response(InvitationSerializer(issued.invitation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["members"])
class MemberDetailView(GenericAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = MemberSerializer

    def get_object(self) -> Membership:
        return get_object_or_404(membership_list(organization=self.request.tenant), pk=self.kwargs["pk"])

    @extend_schema(responses={200: MemberSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def get(self, request, pk: int):
        """Get a member.

        One membership of this organization (owners and admins).
        """
        return Response(MemberSerializer(self.get_object()).data)

    @extend_schema(
        request=MemberUpdateSerializer,
        responses={
            200: MemberSerializer,
            **ERROR_RESPONSES.for_codes(400, 401, 403, 404),
            409: error_response("last_owner"),
        },
    )
    def patch(self, request, pk: int):
        """Change a member's role.

        Owners and admins; an organization keeps at least one owner (409 `last_owner`). Without `role` nothing
        changes.
        """
        data = MemberUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        membership = self.get_object()
        if "role" in data.validated_data:  # a PATCH without fields changes nothing
            membership = services.member_change_role(
                actor=request_membership(request._request), membership=membership, role=data.validated_data["role"]
            )
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404), 409: error_response("last_owner")})
    def delete(self, request, pk: int):
        """Remove a member.

        The person loses access to this organization; their account and their bookings stay. The last owner
        cannot be removed (409 `last_owner`).
        """
        services.member_remove(actor=request_membership(request._request), membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
