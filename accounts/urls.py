from django.urls import path

from accounts import api, api_key_api, invitation_api

app_name = "accounts_api"

urlpatterns = [
    path("auth/login", api.LoginView.as_view(), name="login"),
    path("auth/refresh", api.RefreshView.as_view(), name="refresh"),
    path("auth/logout", api.LogoutView.as_view(), name="logout"),
    path("auth/me", api.MeView.as_view(), name="me"),
    path("members", api.MemberListView.as_view(), name="member-list"),
    path("members/<int:pk>", api.MemberDetailView.as_view(), name="member-detail"),
    path("api-keys", api_key_api.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<int:pk>", api_key_api.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("invitations", invitation_api.InvitationListView.as_view(), name="invitation-list"),
    path("invitations/accept", invitation_api.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("invitations/<int:pk>", invitation_api.InvitationDetailView.as_view(), name="invitation-detail"),
    path("invitations/<int:pk>/resend", invitation_api.InvitationResendView.as_view(), name="invitation-resend"),
]
