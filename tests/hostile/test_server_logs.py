"""A reset token in the error log (issue 19, finding 7), on the real server (`shopmail serve`).

After a rejected new password (400), Django's request logger wrote the still-valid token path to
stderr. Every logger (Django's, waitress's, shopmail's) now writes JSON with tokens redacted.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from live_server import LiveServer

MAKE_RESET = """
from shopmail.account import mailing
from shopmail.store.models import Customer
customer = Customer.objects.create(external_id="c-log", email="carla@example.com", first_name="Carla")
message = mailing.reset(customer)
print(message.payload.text)
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("serve-logs")).start()
    yield server
    server.stop()


def _post_form(opener, url: str, fields: dict[str, str]) -> int:
    page = opener.open(url).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page[:500]
    data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token.group(1)}).encode()
    request = urllib.request.Request(url, data=data, headers={"Referer": url})
    try:
        with opener.open(request) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_a_rejected_new_password_does_not_log_the_token(live):
    text = live.run_django(MAKE_RESET)
    url = re.search(r"https?://\S+/account/reset/[^/\s]+/", text)
    assert url, text
    link = url.group(0)
    token = link.rstrip("/").rsplit("/", 1)[1]
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
    )
    status = _post_form(opener, link, {"new_password1": "short", "new_password2": "other"})
    assert status == 400
    # the attack also tried the API with a bad key and a secret in the query string
    live.get("/api/v1/messages?token=s3cr3t-query-value", {"Authorization": "Bearer sk-not-a-real-key-123"})
    live.get("/definitely-missing/?password=hunter2-in-query")

    log = live.stderr
    assert token not in log
    assert "/account/reset/[redacted]/" in log  # Django's request logger did log the 400
    assert "s3cr3t-query-value" not in log and "hunter2-in-query" not in log
    lines = [line for line in log.splitlines() if line.strip()]
    not_json = [line for line in lines if not line.startswith("{")]
    assert lines and not not_json, not_json[:5]
    loggers = {json.loads(line)["logger"] for line in lines}
    assert "django.request" in loggers and "waitress" in loggers

    # normal use: the link still works for the customer
    strong = "Quiet-meadow-river-97"
    assert _post_form(opener, link, {"new_password1": strong, "new_password2": strong}) == 302
