"""Equipment pages on an organization's site (the equipment API lives in equipment/urls.py)."""

from django.urls import path

from equipment import views

app_name = "equipment"

urlpatterns = [
    path("", views.item_list_page, name="list"),
    path("new/", views.item_create_page, name="create"),
    path("<int:pk>/edit/", views.item_edit_page, name="edit"),
    path("<int:pk>/delete/", views.item_delete_page, name="delete"),
    path("<int:pk>/week/", views.item_week_page, name="week"),
]
