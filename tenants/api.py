"""Registration API on the public host."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from accounts.api import OrganizationSummarySerializer, UserSerializer
from accounts.authentication import TokenChallengeOnly
from accounts.tokens import tokens_for_membership
from spacemanager.openapi import ERROR_RESPONSES, error_response
from tenants import services
from tenants.validators import validate_currency_code, validate_organization_slug, validate_timezone_name


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=150)
    organization_name = serializers.CharField(max_length=100)
    organization_slug = serializers.CharField(
        max_length=40,
        help_text="3-40 lowercase letters, digits and hyphens; becomes <slug>.BASE_DOMAIN.",
        validators=[validate_organization_slug],
    )
    timezone = serializers.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    currency = serializers.CharField(max_length=3, default="EUR", validators=[validate_currency_code])

    # A taken slug or email is the service's to say (`slug_taken`, `email_taken`): one code per condition.

    def validate_email(self, value: str) -> str:
        return value.lower()


class RegistrationSerializer(serializers.Serializer):
    user = UserSerializer()
    organization = OrganizationSummarySerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


@extend_schema(tags=["auth"])
class RegisterView(GenericAPIView):
    """Create an organization, its schema and domain, and its owner, all or nothing (public host only)."""

    authentication_classes = [TokenChallengeOnly]
    permission_classes = [AllowAny]
    serializer_class = RegisterInputSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterInputSerializer,
        responses={
            201: RegistrationSerializer,
            400: ERROR_RESPONSES[400],
            429: error_response("throttled", "Request was throttled. Expected available in 60 seconds."),
        },
        examples=[
            OpenApiExample(
                "Sign up",
                request_only=True,
                value={
                    "email": "ada@example.com",
                    "password": "a long passphrase",
                    "full_name": "Ada Lovelace",
                    "organization_name": "Acme Coworking",
                    "organization_slug": "acme",
                },
            )
        ],
    )
    def post(self, request):
        """Register an organization.

        On the public host only: creates the organization, its host `<slug>.BASE_DOMAIN`, its data and its
        owner, all or nothing, and logs the owner in there (a token pair for the new organization). Asked of
        an organization's host: 404.
        """
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        registration = services.organization_register(
            organization_name=values["organization_name"],
            organization_slug=values["organization_slug"],
            owner_email=values["email"],
            owner_password=values["password"],
            owner_full_name=values["full_name"],
            timezone=values["timezone"],
            currency=values["currency"],
        )
        payload = {
            "user": UserSerializer(registration.owner).data,
            "organization": OrganizationSummarySerializer(registration.organization, context={"request": request}).data,
            **tokens_for_membership(registration.membership),
        }
        return Response(payload, status=status.HTTP_201_CREATED)
