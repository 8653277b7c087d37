from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("feeds/<str:secret>.ics", views.calendar_feed, name="calendar_feed"),
    path("calendar-feeds/", views.calendar_feed_list, name="calendar_feeds"),
    path("settings/webhooks/", views.webhook_list, name="webhooks"),
    path("settings/webhooks/<int:pk>/", views.webhook_detail, name="webhook"),
    path("settings/webhooks/<int:pk>/test", views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<int:pk>/delete", views.webhook_delete, name="webhook_delete"),
    path(
        "settings/webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver",
        views.webhook_redeliver,
        name="webhook_redeliver",
    ),
]
