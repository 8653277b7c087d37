"""Auth and members API (thin: parse, call a service or selector, render)."""

from django.contrib.auth import authenticate
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
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.access import request_membership
from accounts.authentication import TokenChallengeOnly, membership_for_token
from accounts.models import Membership, User
from accounts.permissions import IsOrganizationManager
from accounts.selectors import membership_get, membership_list
from accounts.tokens import ORGANIZATION_CLAIM, tokens_for_membership
from spacemanager.fields import StrictCharField
from spacemanager.openapi import ERROR_RESPONSES, error_response
from spacemanager.ratelimit import LoginAccountThrottle
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


@extend_schema(tags=["auth"])
class LoginView(GenericAPIView):
    """Log in on an organization's host and receive a token pair bound to that organization."""

    authentication_classes = [TokenChallengeOnly]
    permission_classes = [AllowAny]
    serializer_class = LoginInputSerializer
    # Per client address (`login`) and per account (`login_account`): both must allow the attempt.
    throttle_classes = [ScopedRateThrottle, LoginAccountThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: SessionSerializer,
            400: ERROR_RESPONSES[400],
            401: error_response("invalid_credentials"),
            429: error_response("throttled", "Request was throttled. Expected available in 60 seconds."),
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
        user = authenticate(
            request._request, username=data.validated_data["email"], password=data.validated_data["password"]
        )
        # Wrong password, unknown email and "not a member here" must be indistinguishable.
        membership = membership_get(user=user, organization=request.tenant) if user is not None else None
        if membership is None:
            raise InvalidCredentials()
        return Response(session_payload(membership, request))


class OrganizationTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        try:
            refresh = RefreshToken(attrs["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        membership_for_token(refresh, getattr(self.context["request"], "tenant", None))
        return super().validate(attrs)


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
    """Blacklist a refresh token. Logging out twice is harmless."""

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
    full_name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    password = serializers.CharField(
        max_length=128,
        required=False,
        trim_whitespace=False,
        help_text="Only for a new account; without it the person sets a password through password reset.",
    )


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


@extend_schema(tags=["members"])
class MemberListView(GenericAPIView):
    """Members of this organization (owners and admins)."""

    permission_classes = [IsOrganizationManager]
    serializer_class = MemberSerializer

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
        responses={
            201: MemberSerializer,
            **ERROR_RESPONSES.for_codes(400, 401, 403),
            409: error_response("already_member"),
        },
        examples=[
            OpenApiExample(
                "Add a colleague", value={"email": "sam@example.com", "full_name": "Sam Lee", "role": "member"}
            )
        ],
    )
    def post(self, request):
        """Add a member.

        Add a person by email with a role (owners and admins). Someone already in the organization: 409
        `already_member`.
        """
        data = MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_add(
            actor=request_membership(request._request), organization=request.tenant, **data.validated_data
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


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
