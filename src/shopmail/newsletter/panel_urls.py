"""The newsletter wizard in the control panel, mounted at ``/admin/newsletters/``."""

from django.urls import URLPattern, URLResolver, path

from shopmail.newsletter import panel

app_name = "newsletters"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", panel.index, name="index"),
    path("new/", panel.new, name="new"),
    path("segment-count/", panel.segment_count, name="segment_count"),
    path("segments/<int:pk>/delete/", panel.segment_delete, name="segment_delete"),
    path("subscribers/", panel.subscribers, name="subscribers"),
    path("subscribers/<int:pk>/", panel.subscriber_change, name="subscriber_change"),
    path("<int:pk>/", panel.detail, name="detail"),
    path("<int:pk>/compose/", panel.compose, name="compose"),
    path("<int:pk>/recipients/", panel.recipients, name="recipients"),
    path("<int:pk>/preview/", panel.preview_page, name="preview"),
    path("<int:pk>/test/", panel.test_send, name="test"),
    path("<int:pk>/send/", panel.send_page, name="send"),
    path("<int:pk>/cancel/", panel.cancel, name="cancel"),
    path("<int:pk>/progress.json", panel.progress, name="progress"),
]
