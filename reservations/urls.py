from django.urls import path

from reservations import api

app_name = "reservations_api"

urlpatterns = [
    path("reservations", api.ReservationListView.as_view(), name="list"),
    path("reservations/<int:pk>", api.ReservationDetailView.as_view(), name="detail"),
    path("reservations/<int:pk>/confirm", api.ReservationConfirmView.as_view(), name="confirm"),
]
