"""Who is signed in to My page: the customer's account id in the session, bound to the password.

The session holds the account's id and an HMAC of its password hash (as Django does for
users): changing or resetting the password signs out every other session. Signing in rotates
the session key and the CSRF token, so a session or token fixed before sign-in is useless
after it. Staff sign-in (``request.user``) is separate and untouched by any of this.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from shopmail.account.models import CustomerAccount

SESSION_KEY = "_shopmail_customer"
HASH_KEY = "_shopmail_customer_hash"
MAX_ACCOUNTS_PER_ADDRESS = 5

View = Callable[..., HttpResponse]

# A real Argon2 hash to check against when no account matches, so a wrong address costs the
# same time as a wrong password.
_DUMMY: dict[str, str] = {}


def dummy_hash() -> str:
    algorithm = str(get_hasher().algorithm)
    if algorithm not in _DUMMY:
        _DUMMY[algorithm] = make_password("shopmail dummy password")
    return _DUMMY[algorithm]


def session_hash(account: CustomerAccount) -> str:
    return salted_hmac("shopmail.account.session", account.password, algorithm="sha256").hexdigest()


def authenticate(email: str, password: str) -> CustomerAccount | None:
    """The account with this address and password, or None (in about the same time either way)."""
    candidates = list(
        CustomerAccount.objects.select_related("customer")
        .filter(customer__email__iexact=email.strip())
        .exclude(password="")
        .order_by("-last_login", "pk")[:MAX_ACCOUNTS_PER_ADDRESS]
    )
    if not candidates:
        check_password(password, dummy_hash())
        return None
    for account in candidates:

        def upgrade(raw: str, account: CustomerAccount = account) -> None:
            account.password = make_password(raw)
            account.save(update_fields=["password"])

        if check_password(password, account.password, setter=upgrade):
            return account
    return None


def set_password(account: CustomerAccount, raw: str) -> None:
    account.password = make_password(raw)
    account.password_changed_at = timezone.now()
    account.save(update_fields=["password", "password_changed_at"])


def login(request: HttpRequest, account: CustomerAccount) -> None:
    request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_KEY] = account.pk
    request.session[HASH_KEY] = session_hash(account)
    account.last_login = timezone.now()
    account.save(update_fields=["last_login"])
    request.shopmail_account = account  # type: ignore[attr-defined]


def refresh_session(request: HttpRequest, account: CustomerAccount) -> None:
    """After a password change: a new session key, still signed in, other sessions signed out."""
    request.session.cycle_key()
    request.session[HASH_KEY] = session_hash(account)


def logout(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(HASH_KEY, None)
    request.session.cycle_key()
    request.shopmail_account = None  # type: ignore[attr-defined]


def current_account(request: HttpRequest) -> CustomerAccount | None:
    """The signed-in customer's account (cached on the request), or None."""
    if hasattr(request, "shopmail_account"):
        return request.shopmail_account  # type: ignore[no-any-return]
    account = None
    pk = request.session.get(SESSION_KEY)
    if pk is not None:
        found = CustomerAccount.objects.select_related("customer").filter(pk=pk).first()
        stored = request.session.get(HASH_KEY) or ""
        if found is not None and found.password and constant_time_compare(stored, session_hash(found)):
            account = found
        else:
            request.session.pop(SESSION_KEY, None)
            request.session.pop(HASH_KEY, None)
    request.shopmail_account = account  # type: ignore[attr-defined]
    return account


def customer_required(view: View) -> View:
    """Only for a signed-in customer; anyone else goes to the My page sign-in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = current_account(request)
        if account is None:
            return redirect_to_login(request.get_full_path(), reverse("account:login"))
        return view(request, account, *args, **kwargs)

    return wrapped
