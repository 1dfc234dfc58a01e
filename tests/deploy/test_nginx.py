"""Debian's nginx with TLS in front of `shopmail serve`, as docs/deploy/nginx-shopmail.conf sets it up.

The site file from the docs is used as published, with only its addresses, ports and certificate paths
swapped for loopback ones and a self-signed certificate made here. Through it: the client's address
reaches the rate limits (each visitor its own limit; a forged X-Forwarded-For does not escape one),
links in e-mails are https and open through the proxy, cookies are Secure, plain HTTP moves to HTTPS.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from fixtures.delivery import Server, free_port

NGINX = Path("/usr/sbin/nginx")
SITE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx-shopmail.conf"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not NGINX.exists(), reason="Debian's nginx is not installed (apt-get install nginx)"),
]


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def site_config(
    upstream_port: int, http_port: int, https_port: int, cert: Path, key: Path, webroot: Path
) -> str:
    """docs/deploy/nginx-shopmail.conf with loopback ports and the test certificate.

    Each replaced line must be in the published file, so the test fails if the docs drift from it.
    """
    text = SITE.read_text()
    swaps = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/mail.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/mail.example.com/privkey.pem": str(key),
        "root /var/www/html;": f"root {webroot};",
    }
    for old, new in swaps.items():
        assert old in text, f"{SITE.name} no longer contains {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Proxy:
    https_port: int
    http_port: int
    cafile: Path
    server: Server

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        source: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        tls: bool = True,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request to nginx, sent from the loopback address ``source`` (a different client each)."""
        conn: http.client.HTTPConnection
        if tls:
            context = ssl.create_default_context(cafile=str(self.cafile))
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.https_port, context=context, source_address=(source, 0), timeout=60
            )
        else:
            conn = http.client.HTTPConnection(
                "127.0.0.1", self.http_port, source_address=(source, 0), timeout=60
            )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()


def wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not listen")


@pytest.fixture
def proxy(store, tmp_path) -> Iterator[Proxy]:
    https_port, http_port = free_port(), free_port()
    server = Server(
        env={
            "SHOPMAIL_BASE_URL": f"https://127.0.0.1:{https_port}",
            "SHOPMAIL_TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    cert, key = make_certificate(tmp_path)
    webroot = tmp_path / "www"
    (webroot / ".well-known" / "acme-challenge").mkdir(parents=True)
    (webroot / ".well-known" / "acme-challenge" / "token").write_text("acme\n")
    (tmp_path / "site.conf").write_text(site_config(server.port, http_port, https_port, cert, key, webroot))
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers keep access to the tmp dir
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'error.log'} warn;\n"
        f"events {{ worker_connections 128; }}\n"
        f"http {{\n access_log {tmp_path / 'access.log'};\n {temp}\n include {tmp_path / 'site.conf'};\n}}\n"
    )
    test = subprocess.run(
        [
            str(NGINX),
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert test.returncode == 0, test.stderr
    server.start()
    nginx = subprocess.Popen(
        [
            str(NGINX),
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(https_port, nginx, tmp_path / "error.log")
        yield Proxy(https_port=https_port, http_port=http_port, cafile=cert, server=server)
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        server.stop()


def cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the whole header line, attributes included)."""
    return {line.split("=", 1)[0].strip(): line for line in headers.get_all("Set-Cookie") or []}


def csrf(proxy: Proxy, path: str, source: str = "127.0.0.1") -> tuple[str, str]:
    """(cookie value, form token) from a GET of a form page."""
    status, headers, body = proxy.request("GET", path, source=source)
    assert status == 200
    jar = SimpleCookie()
    for line in headers.get_all("Set-Cookie") or []:
        jar.load(line)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert match is not None
    return jar["csrftoken"].value, match.group(1).decode()


def post_form(
    proxy: Proxy, path: str, fields: dict[str, str], *, source: str, extra: dict[str, str] | None = None
):
    cookie, token = csrf(proxy, path, source)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={cookie}",
        "Origin": proxy.base_url,
        "Referer": f"{proxy.base_url}{path}",
        **(extra or {}),
    }
    return proxy.request(
        "POST",
        path,
        source=source,
        headers=headers,
        body=urlencode({**fields, "csrfmiddlewaretoken": token}).encode(),
    )


CONTACT = {
    "name": "Ola Nordmann",
    "email": "ola@kafe.example.no",
    "subject": "Opening hours",
    "message": "When are you open on Sundays?",
    "order": "",
    "website": "",
}


def test_each_visitor_behind_nginx_has_its_own_rate_limit(proxy):
    """Six visitors post the contact form once each (limit: five an hour per client): none is refused."""
    from shopmail.support.models import ContactMessage

    for n in range(2, 8):
        status, _, _ = post_form(proxy, "/contact/", CONTACT, source=f"127.0.0.{n}")
        assert status == 302, f"visitor 127.0.0.{n} got {status}"
    assert ContactMessage.objects.count() == 6


def test_one_visitor_cannot_escape_its_limit_by_forging_x_forwarded_for(proxy):
    statuses = [
        post_form(
            proxy, "/contact/", CONTACT, source="127.0.0.9", extra={"X-Forwarded-For": f"198.51.100.{n}"}
        )[0]
        for n in range(7)
    ]
    assert statuses[:5] == [302] * 5
    assert statuses[5:] == [429, 429]


def test_https_cookies_and_headers_through_nginx(proxy):
    status, headers, body = proxy.request("GET", "/admin/login/")
    assert status == 200 and b"Sign in" in body
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    csrf_cookie = cookies(headers)["csrftoken"]
    assert "; Secure" in csrf_cookie
    # plain HTTP goes to HTTPS, the ACME challenge stays reachable for certbot
    status, headers, _ = proxy.request("GET", "/admin/login/?next=/admin/", tls=False)
    assert status == 301
    assert headers["Location"].startswith("https://127.0.0.1") and headers["Location"].endswith(
        "/admin/login/?next=/admin/"
    )
    status, _, body = proxy.request("GET", "/.well-known/acme-challenge/token", tls=False)
    assert (status, body) == (200, b"acme\n")


def test_staff_sign_in_through_nginx_gives_a_secure_session(proxy):
    from django.core.management import call_command

    call_command("createadmin", "--email", "boss@shop.test", "--password", "a-long-secret-phrase")
    status, headers, _ = post_form(
        proxy,
        "/admin/login/",
        {"username": "boss@shop.test", "password": "a-long-secret-phrase", "next": "/admin/"},
        source="127.0.0.3",
    )
    assert status == 302, status
    session = cookies(headers)["sessionid"]
    assert "; Secure" in session and "HttpOnly" in session
    value = session.split("=", 1)[1].split(";", 1)[0]
    status, _, body = proxy.request("GET", "/admin/", headers={"Cookie": f"sessionid={value}"})
    assert status == 200 and b"Sign in to the control panel" not in body


def test_links_in_e_mails_are_https_and_open_through_nginx(proxy, api_key, settings):
    import json

    from factories import order

    outbox = Path(settings.DATA_DIR) / "captured-mail"
    # the data dir outlives this test (scripts/test runs SQLite, then PostgreSQL, with one): only
    # mail captured from now on is this test's
    before = set(outbox.glob("**/*.eml"))
    body = json.dumps(
        order("9001", customer={**order("9001")["customer"], "email": "nginx@example.com"})
    ).encode()
    status, _, answer = proxy.request(
        "PUT",
        "/api/v1/orders/9001",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        body=body,
    )
    assert status in (200, 201), answer
    deadline = time.monotonic() + 60
    mail: list[Path] = []
    while time.monotonic() < deadline and not mail:
        mail = [
            p
            for p in set(outbox.glob("**/*.eml")) - before
            if re.search(rb"(?m)^To: .*nginx@example\.com", p.read_bytes())
        ]
        time.sleep(0.2)
    assert len(mail) == 1
    text = mail[0].read_bytes().decode("utf-8", "replace").replace("=\r\n", "").replace("=\n", "")
    links = set(re.findall(r"https?://127\.0\.0\.1:\d+/account/order/[A-Za-z0-9_.:=-]+/", text))
    assert links, text[:2000]
    for link in links:
        parts = urlsplit(link)
        assert parts.scheme == "https" and parts.port == proxy.https_port
        status, _, page = proxy.request("GET", parts.path)
        assert status == 200 and b"9001" in page


def test_django_sees_https_through_nginx_and_only_through_a_trusted_proxy(proxy):
    """Over https Django's CSRF check wants a Referer or Origin (an http request does not): a form post
    without either is refused through nginx, and X-Forwarded-Proto from an untrusted peer changes nothing."""
    cookie, token = csrf(proxy, "/contact/", source="127.0.0.4")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}"}
    body = urlencode({**CONTACT, "csrfmiddlewaretoken": token}).encode()
    status, _, page = proxy.request("POST", "/contact/", source="127.0.0.4", headers=headers, body=body)
    assert status == 403 and b"Referer" in page

    # straight to shopmail from an address that is not a trusted proxy, claiming https
    direct = http.client.HTTPConnection("127.0.0.1", proxy.server.port, source_address=("127.0.0.5", 0))
    try:
        direct.request("POST", "/contact/", body=body, headers={**headers, "X-Forwarded-Proto": "https"})
        assert direct.getresponse().status == 302  # treated as the http request it is
    finally:
        direct.close()
