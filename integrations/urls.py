from django.urls import path

from integrations import api

app_name = "integrations_api"

urlpatterns = [
    path("webhooks", api.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>", api.WebhookDetailView.as_view(), name="webhook"),
    path("webhooks/<int:pk>/deliveries", api.WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver",
        api.WebhookRedeliverView.as_view(),
        name="webhook-redeliver",
    ),
    path("webhooks/<int:pk>/test", api.WebhookTestView.as_view(), name="webhook-test"),
    path("calendar-feeds", api.CalendarFeedListView.as_view(), name="calendar-feeds"),
    path("calendar-feeds/regenerate", api.CalendarFeedRegenerateView.as_view(), name="calendar-feeds-regenerate"),
]
