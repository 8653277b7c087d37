"""OpenAPI descriptions of our authentication classes (drf-spectacular finds them once imported)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OrganizationJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.OrganizationJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /api/v1/auth/login`, valid only on the host of the "
            "organization that issued it, and only while the person is active and still a member.",
        }


class OrganizationSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.OrganizationSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
