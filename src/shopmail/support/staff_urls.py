"""Staff pages of the support app, mounted under /admin/ (the control panel):

    path("admin/", include("shopmail.support.staff_urls")),

gives /admin/returns/, /admin/returns/<id>/, /admin/helpdesk/ and /admin/helpdesk/<id>/.
(Invitations are sent from the panel's customer page, through ``account.mailing.invite``.)
"""

from django.urls import URLPattern, URLResolver, path

from shopmail.support import staff_views

app_name = "support_staff"
urlpatterns: list[URLPattern | URLResolver] = [
    path("returns/", staff_views.return_list, name="returns"),
    path("returns/<int:pk>/", staff_views.return_detail, name="return"),
    path("helpdesk/", staff_views.thread_list, name="helpdesk"),
    path("helpdesk/<int:pk>/", staff_views.thread_detail, name="thread"),
    path("helpdesk/<int:pk>/status/", staff_views.thread_status, name="thread_status"),
]
