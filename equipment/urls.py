from django.urls import path

from equipment import api

app_name = "equipment_api"

urlpatterns = [
    path("equipment", api.ItemListView.as_view(), name="list"),
    path("equipment/<int:pk>", api.ItemDetailView.as_view(), name="detail"),
    path("equipment/<int:pk>/availability", api.ItemAvailabilityView.as_view(), name="availability"),
]
