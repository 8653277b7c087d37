from django.urls import path

from reservations import api, approval_api, series_api, waitlist_api

app_name = "reservations_api"

urlpatterns = [
    path("reservations", api.ReservationListView.as_view(), name="list"),
    path("reservations/<int:pk>", api.ReservationDetailView.as_view(), name="detail"),
    path("reservations/<int:pk>/check-in", api.ReservationCheckInView.as_view(), name="check-in"),
    path("reservations/<int:pk>/confirm", api.ReservationConfirmView.as_view(), name="confirm"),
    path("reservations/<int:pk>/decline", approval_api.ReservationDeclineView.as_view(), name="decline"),
    path("spaces/<int:pk>/approvers", approval_api.SpaceApproversView.as_view(), name="space-approvers"),
    path("quotes", api.QuoteView.as_view(), name="quotes"),
    path("series", series_api.SeriesListView.as_view(), name="series-list"),
    path("series/<int:pk>", series_api.SeriesDetailView.as_view(), name="series-detail"),
    path("waitlist", waitlist_api.WaitlistListView.as_view(), name="waitlist-list"),
    path("waitlist/<int:pk>", waitlist_api.WaitlistDetailView.as_view(), name="waitlist-detail"),
]
