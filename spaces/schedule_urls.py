"""The schedule page on an organization's site: one day of every space."""

from django.urls import path

from spaces import views

app_name = "schedule"

urlpatterns = [path("", views.schedule, name="day")]
