from django.urls import path

from spaces import api, closures_api, media_api

app_name = "spaces_api"

urlpatterns = [
    path("availability", api.AvailabilityListView.as_view(), name="availability-list"),
    path("spaces", api.SpaceListView.as_view(), name="list"),
    path("spaces/<int:pk>", api.SpaceDetailView.as_view(), name="detail"),
    path("spaces/<int:pk>/availability", api.SpaceAvailabilityView.as_view(), name="availability"),
    path("spaces/<int:pk>/photos", media_api.SpacePhotoListView.as_view(), name="photo-list"),
    path("spaces/<int:pk>/photos/<int:photo_id>", media_api.SpacePhotoDetailView.as_view(), name="photo-detail"),
    path("locations", media_api.LocationListView.as_view(), name="location-list"),
    path("locations/<int:pk>", media_api.LocationDetailView.as_view(), name="location-detail"),
    path("locations/<int:pk>/floor-plan", media_api.LocationFloorPlanView.as_view(), name="location-floor-plan"),
    path("locations/<int:pk>/positions", media_api.LocationPositionsView.as_view(), name="location-positions"),
    path("closures", closures_api.ClosureListView.as_view(), name="closure-list"),
    path("closures/<int:pk>", closures_api.ClosureDetailView.as_view(), name="closure-detail"),
]
