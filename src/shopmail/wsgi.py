"""WSGI entry point: Django behind the request guard (core/http_guard: header, cookie and body
size limits enforced before Django parses or reads anything)."""

import os

from django.core.wsgi import get_wsgi_application

from shopmail.core.http_guard import RequestGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopmail.settings")
os.umask(0o077)  # files in the data dir readable by the owner only, as under `shopmail serve`
application = RequestGuard(get_wsgi_application())
