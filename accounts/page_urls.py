"""Pages of an organization's site for people and their accounts (the API lives in accounts/urls.py)."""

from django.urls import path

from accounts import api_key_views, invitation_views, profile_views, sso_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("login/", views.LoginPageView.as_view(), name="login"),
    path("logout/", views.LogoutPageView.as_view(), name="logout"),
    path("welcome/<str:token>/", views.welcome, name="welcome"),
    path("password-reset/", views.PasswordResetPageView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDonePageView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmPageView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/complete/", views.PasswordResetCompletePageView.as_view(), name="password_reset_complete"),
    path("members/", views.MembersView.as_view(), name="members"),
    path("members/<int:pk>/role/", views.member_change_role, name="member_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("members/invitations/<int:pk>/resend/", invitation_views.invitation_resend, name="invitation_resend"),
    path("members/invitations/<int:pk>/revoke/", invitation_views.invitation_revoke, name="invitation_revoke"),
    path("account/", profile_views.profile_page, name="profile"),
    path("account/password/", profile_views.PasswordChangePageView.as_view(), name="password_change"),
    path("account/switch/<int:membership_id>/", profile_views.organization_switch, name="switch"),
    path("account/arrive/<str:token>/", profile_views.organization_arrive, name="arrive"),
    path("sso/<int:pk>/start/", sso_views.sso_start, name="sso_start"),
    path("sso/callback/", sso_views.sso_callback, name="sso_callback"),
    path("settings/sso/", sso_views.sso_settings, name="sso_settings"),
    path("settings/sso/<int:pk>/delete/", sso_views.sso_provider_delete, name="sso_provider_delete"),
    path("settings/api-keys/", api_key_views.api_key_list, name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", api_key_views.api_key_revoke, name="api_key_revoke"),
    path("invitations/<str:token>/", invitation_views.invitation_accept, name="invitation_accept"),
]
