"""Booking pages on an organization's site (the reservations API lives in reservations/urls.py)."""

from django.urls import path

from reservations import approval_views, check_in_views, views

app_name = "reservations"

urlpatterns = [
    path("", views.reservation_mine, name="mine"),
    path("new/", views.reservation_create, name="create"),
    path("quote/", views.reservation_quote, name="quote"),
    path("all/", views.reservation_all, name="all"),
    path("<int:pk>/", views.reservation_detail, name="detail"),
    path("<int:pk>/edit/", views.reservation_edit, name="edit"),
    path("<int:pk>/cancel/", views.reservation_cancel, name="cancel"),
    path("<int:pk>/check-in/", views.reservation_check_in, name="check-in"),
    path("<int:pk>/check-in/<str:token>/", check_in_views.reservation_check_in_link, name="check-in-link"),
    path("<int:pk>/confirm/", views.reservation_confirm, name="confirm"),
    path("<int:pk>/decline/", approval_views.reservation_decline, name="decline"),
    path("waitlist/", views.waitlist_mine, name="waitlist"),
    path("waitlist/join/", views.waitlist_join, name="waitlist-join"),
    path("waitlist/<int:pk>/leave/", views.waitlist_leave, name="waitlist-leave"),
    path("series/<int:pk>/edit/", views.series_edit, name="series-edit"),
    path("series/<int:pk>/cancel/", views.series_cancel, name="series-cancel"),
]
