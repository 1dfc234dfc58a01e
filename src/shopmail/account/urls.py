"""My page: /account/ (SPEC section 7). The order and back-order link shapes are fixed by
``shopmail.mail.links``."""

from django.urls import URLPattern, URLResolver, path

from shopmail.account.views import auth, helpdesk, orders, profile

app_name = "account"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", orders.orders, name="orders"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("forgot/", auth.forgot, name="forgot"),
    path("forgot/sent/", auth.forgot_sent, name="forgot_sent"),
    path("reset/<str:token>/", auth.reset, name="reset"),
    path("invite/<str:token>/", auth.invite, name="invite"),
    path("password/", auth.password, name="password"),
    path("details/", profile.details, name="details"),
    path("settings/", profile.settings, name="settings"),
    path("orders/<int:pk>/", orders.order, name="order"),
    path("orders/<int:pk>/backorder/", orders.order_backorder, name="order_backorder"),
    path("orders/<int:pk>/return/", orders.return_request, name="return"),
    path("order/<str:token>/", orders.signed_order, name="signed_order"),
    path("backorder/<str:token>/", orders.backorder_link, name="backorder"),
    path("helpdesk/", helpdesk.threads, name="helpdesk"),
    path("helpdesk/<int:pk>/", helpdesk.thread, name="thread"),
]
