from accounts.access import request_membership


def membership(request) -> dict:
    """`membership` (or None) and `organization` for every template on an organization's site."""
    tenant = getattr(request, "tenant", None)
    return {
        "membership": request_membership(request),
        "organization": tenant if tenant is not None and not tenant.is_public else None,
    }
