from django.urls import path

from spaces import api, closures_api

app_name = "spaces_api"

urlpatterns = [
    path("availability", api.AvailabilityListView.as_view(), name="availability-list"),
    path("spaces", api.SpaceListView.as_view(), name="list"),
    path("spaces/<int:pk>", api.SpaceDetailView.as_view(), name="detail"),
    path("spaces/<int:pk>/availability", api.SpaceAvailabilityView.as_view(), name="availability"),
    path("closures", closures_api.ClosureListView.as_view(), name="closure-list"),
    path("closures/<int:pk>", closures_api.ClosureDetailView.as_view(), name="closure-detail"),
]
