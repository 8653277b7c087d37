"""API keys API (thin: parse, call accounts.api_keys, render)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts import api_keys
from accounts.access import request_membership
from accounts.models import ApiKey
from accounts.permissions import IsOrganizationManager
from spacemanager.openapi import ERROR_RESPONSES


class ApiKeySerializer(serializers.ModelSerializer):
    """A key as lists show it: its prefix, never the key."""

    created_by = serializers.EmailField(source="created_by.email", read_only=True)
    status = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKey.Scope.choices))

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "status", "created_by", "created_at", "expires_at"]
        fields += ["last_used_at", "revoked_at"]
        read_only_fields = fields

    def get_status(self, api_key: ApiKey) -> str:
        return api_key.status_at(timezone.now())


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself (`sm_…`). Shown this once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKey.Scope.choices),
        allow_empty=False,
        help_text='`["read"]` (GET only) or `["read", "write"]`.',
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class PeopleOnly(IsOrganizationManager):
    """Keys are managed by people (session or token), never by a key: a leaked key cannot mint others."""

    message = "Only owners and admins manage API keys, and not with an API key."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and not isinstance(request.auth, ApiKey)


def keys_of(request):
    return ApiKey.objects.select_related("created_by").filter(organization=request.tenant)


@extend_schema(tags=["api keys"])
class ApiKeyListView(GenericAPIView):
    """API keys of this organization (owners and admins)."""

    permission_classes = [PeopleOnly]
    serializer_class = ApiKeySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return ApiKey.objects.none()
        return keys_of(self.request)

    @extend_schema(responses={200: ApiKeySerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[OpenApiExample("A read-only key", value={"name": "Wall display", "scopes": ["read"]})],
    )
    def post(self, request):
        """Make a key. It acts as you, with your role, limited by its scopes; the answer shows it once."""
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_keys.api_key_create(
            actor=request_membership(request._request), organization=request.tenant, **data.validated_data
        )
        issued.api_key.key = issued.key
        return Response(ApiKeyCreatedSerializer(issued.api_key).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["api keys"])
class ApiKeyDetailView(GenericAPIView):
    permission_classes = [PeopleOnly]
    serializer_class = ApiKeySerializer

    @extend_schema(responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def delete(self, request, pk: int):
        """Revoke: the key stops working at once. Revoking twice is harmless."""
        api_key = get_object_or_404(keys_of(request), pk=pk)
        api_keys.api_key_revoke(actor=request_membership(request._request), api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_key_authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`sm_…`) made under Settings → API keys, on its organization's host.",
        }
