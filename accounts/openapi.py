"""How our authentication classes appear in the OpenAPI schema (drf-spectacular extensions).

Without these, drf-spectacular warns on every view, and those warnings fail `check --deploy --fail-level WARNING`.
"""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OrganizationJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.OrganizationJWTAuthentication"


class OrganizationSessionScheme(SessionScheme):
    target_class = "accounts.authentication.OrganizationSessionAuthentication"


class TokenChallengeOnlyScheme(OpenApiAuthenticationExtension):
    """Login, refresh and logout take no credentials: no security requirement, no scheme."""

    target_class = "accounts.authentication.TokenChallengeOnly"
    name: list[str] = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
