"""Pages about organizations (the registration API lives in tenants/urls.py).

Two lists, like spacemanager/api_urls.py: the public site's pages and the pages on an organization's host.
"""

from django.urls import path

from tenants import views

public_patterns = (
    [
        path("", views.landing, name="landing"),
        path("signup/", views.signup, name="signup"),
        path("find/", views.find_organization, name="find"),
    ],
    "site",
)

organization_patterns = (
    [
        path("settings/", views.organization_settings, name="settings"),
    ],
    "organization",
)
