"""Pages about organizations (the registration API lives in tenants/urls.py).

Two lists, like spacemanager/api_urls.py: the public site's pages and the pages on an organization's host.
"""

from django.urls import path

from accounts import profile_views
from tenants import views

public_patterns = (
    [
        path("", views.landing, name="landing"),
        path("signup/", views.signup, name="signup"),
        path("find/", views.find_organization, name="find"),
        path("find/email/", profile_views.find_by_email, name="find_by_email"),
    ],
    "site",
)

organization_patterns = (
    [
        path("settings/", views.organization_settings, name="settings"),
    ],
    "organization",
)
