"""Pages about spaces on an organization's site (the spaces API lives in spaces/urls.py)."""

from django.urls import path

from reservations import approval_views
from spaces import views

app_name = "spaces"

urlpatterns = [
    path("", views.space_list_page, name="list"),
    path("manage/", views.space_manage, name="manage"),
    path("new/", views.space_create, name="create"),
    path("<int:pk>/", views.space_detail, name="detail"),
    path("<int:pk>/edit/", views.space_edit, name="edit"),
    path("<int:pk>/approvers/", approval_views.space_approvers, name="approvers"),
    path("<int:pk>/archive/", views.space_archive, name="archive"),
    path("<int:pk>/restore/", views.space_restore, name="restore"),
    path("closures/", views.closure_list_page, name="closures"),
    path("closures/<int:pk>/", views.closure_detail, name="closure"),
    path("closures/<int:pk>/cancel-affected/", views.closure_cancel_affected, name="closure-cancel-affected"),
    path("closures/<int:pk>/delete/", views.closure_delete, name="closure-delete"),
]
