"""Pages about spaces on an organization's site (the spaces API lives in spaces/urls.py)."""

from django.urls import path

from reservations import approval_views
from spaces import display_views, media_views, views

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
    path("<int:pk>/photos/", media_views.space_photos, name="photos"),
    path("<int:pk>/photos/<int:photo_id>/", media_views.space_photo_change, name="photo-change"),
    path("locations/", media_views.location_list_page, name="locations"),
    path("locations/<int:pk>/", media_views.location_plan, name="location"),
    path("locations/<int:pk>/floor-plan/", media_views.location_floor_plan, name="location-floor-plan"),
    path("locations/<int:pk>/place/", media_views.location_place, name="location-place"),
    path("<int:pk>/check-in/", display_views.space_check_in, name="check-in"),
    path("<int:pk>/display/", display_views.display, name="display"),
    path("<int:pk>/display/state/", display_views.display_fragment, name="display-state"),
    path("<int:pk>/display/book/", display_views.display_book, name="display-book"),
    path("<int:pk>/display/check-in/", display_views.display_check_in, name="display-check-in"),
    path("<int:pk>/display-links/", display_views.display_link_create, name="display-link-create"),
    path("<int:pk>/display-links/<int:link_id>/revoke/", display_views.display_link_revoke, name="display-link-revoke"),
    path("display/open/<str:secret>/", display_views.display_open, name="display-open"),
    path("closures/", views.closure_list_page, name="closures"),
    path("closures/<int:pk>/", views.closure_detail, name="closure"),
    path("closures/<int:pk>/cancel-affected/", views.closure_cancel_affected, name="closure-cancel-affected"),
    path("closures/<int:pk>/delete/", views.closure_delete, name="closure-delete"),
]
