"""The control panel at /admin/ (SPEC section 7). Every page needs a staff sign-in."""

from django.urls import URLPattern, URLResolver, path

from shopmail.panel import (
    auth,
    dashboard,
    deliverability,
    editor,
    email_settings,
    maillog,
    order_actions,
    orders,
    people,
    statuses,
    switches,
    sync,
    webhooks,
)

app_name = "panel"
_TEMPLATE = "templates/<str:notification>/<str:language>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("", dashboard.dashboard, name="dashboard"),
    path("settings/", email_settings.settings_page, name="settings"),
    path("settings/transport/", email_settings.save_transport, name="transport"),
    path("settings/detect/", email_settings.detect_transports, name="detect"),
    path("settings/test/", email_settings.send_test, name="send_test"),
    path("notifications/", switches.notifications_page, name="notifications"),
    path("settings/statuses/", statuses.statuses_page, name="statuses"),
    path("deliverability/", deliverability.deliverability_page, name="deliverability"),
    path("deliverability/remove/", deliverability.suppression_remove, name="suppression_remove"),
    path("templates/", editor.template_list, name="templates"),
    path(_TEMPLATE, editor.template_edit, name="template_edit"),
    path(_TEMPLATE + "preview/", editor.template_preview, name="template_preview"),
    path(_TEMPLATE + "restore/", editor.template_restore, name="template_restore"),
    path(_TEMPLATE + "versions/<int:pk>/", editor.template_version, name="template_version"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:pk>/", orders.order_detail, name="order"),
    path("orders/<int:pk>/notify/", orders.order_notify, name="order_notify"),
    path("orders/<int:pk>/action/<str:action>/", order_actions.order_action, name="order_action"),
    path("webhooks/", webhooks.webhooks_page, name="webhooks"),
    path("webhooks/add/", webhooks.webhook_add, name="webhook_add"),
    path("webhooks/<int:pk>/remove/", webhooks.webhook_remove, name="webhook_remove"),
    path("webhooks/deliveries/<int:pk>/send-again/", webhooks.delivery_send_again, name="webhook_send_again"),
    path("messages/", maillog.message_list, name="messages"),
    path("messages/<int:pk>/", maillog.message_detail, name="message"),
    path("messages/<int:pk>/resend/", maillog.message_resend, name="message_resend"),
    path("messages/<int:pk>/retry/", maillog.message_retry, name="message_retry"),
    path("messages/<int:pk>/cancel/", maillog.message_cancel, name="message_cancel"),
    path("sync/", sync.sync_page, name="sync"),
    path("sync/runs/<int:pk>/", sync.sync_run, name="sync_run"),
    path("customers/", people.customer_list, name="customers"),
    path("customers/<int:pk>/", people.customer_detail, name="customer"),
    path("customers/<int:pk>/invite/", people.customer_invite, name="customer_invite"),
    path("api-keys/", people.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", people.api_key_revoke, name="api_key_revoke"),
    path("staff/", people.staff_list, name="staff"),
    path("staff/<int:pk>/active/", people.staff_active, name="staff_active"),
]
