from django.urls import path

from spaces import api

app_name = "spaces_api"

urlpatterns = [
    path("availability", api.AvailabilityListView.as_view(), name="availability-list"),
    path("spaces", api.SpaceListView.as_view(), name="list"),
    path("spaces/<int:pk>", api.SpaceDetailView.as_view(), name="detail"),
    path("spaces/<int:pk>/availability", api.SpaceAvailabilityView.as_view(), name="availability"),
]
