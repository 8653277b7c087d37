"""`{% sso_providers as providers %}`: the login page's "Sign in with …" buttons for this host's organization."""

from django import template

from accounts.sso import sso_providers_for_login

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_providers(context) -> list:
    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        return []
    return list(sso_providers_for_login(organization=tenant))
