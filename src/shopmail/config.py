"""Typed settings read from the environment (SPEC section 1), validated once at start-up."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Delivery:
    """The delivery worker's timings (seconds), from ``SHOPMAIL_CLAIM_TIMEOUT`` and
    ``SHOPMAIL_RETRY_*``. Read when a worker starts (not frozen into settings), so a test or a
    restart with other values gets them."""

    claim_timeout: float = 300.0
    retry_initial: float = 10.0  # order and staff mail: the first retry within ~10 s
    retry_initial_bulk: float = 60.0  # newsletters may wait longer
    retry_max: float = 3600.0
    retry_lifetime: float = 3 * 86400.0


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str | None
    secret_key: str
    smtp_url: str | None
    base_url: str
    debug: bool
    delivery: Delivery = Delivery()
    trusted_proxies: tuple[str, ...] = ()

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url) and urlsplit(self.database_url or "").scheme in {
            "postgres",
            "postgresql",
            "pgsql",
        }


def _secret_key(data_dir: Path) -> str:
    explicit = os.environ.get("SHOPMAIL_SECRET_KEY")
    if explicit:
        if len(explicit) < 32:
            raise ConfigError("SHOPMAIL_SECRET_KEY must be at least 32 characters long")
        return explicit
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # the first process to start wins; others read its key
        tmp.unlink(missing_ok=True)
        return path.read_text().strip()


def _seconds(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not value >= minimum or value != value or value == float("inf"):
        raise ConfigError(f"{name} must be a number of seconds of at least {minimum:g}, not {raw!r}")
    return value


def delivery() -> Delivery:
    """The worker's timings from the environment (validated; ConfigError says which is wrong)."""
    initial = _seconds("SHOPMAIL_RETRY_INITIAL", Delivery.retry_initial, 0.001)
    bulk = _seconds("SHOPMAIL_RETRY_INITIAL_BULK", max(initial, Delivery.retry_initial_bulk), 0.001)
    return Delivery(
        claim_timeout=_seconds("SHOPMAIL_CLAIM_TIMEOUT", Delivery.claim_timeout),
        retry_initial=initial,
        retry_initial_bulk=bulk,
        retry_max=max(initial, bulk, _seconds("SHOPMAIL_RETRY_MAX", Delivery.retry_max, 0.001)),
        retry_lifetime=_seconds("SHOPMAIL_RETRY_LIFETIME", Delivery.retry_lifetime, 0.001),
    )


def make_private(data_dir: Path) -> None:
    """The data dir (SQLite file, captured mail with live links, secret key) for its owner only:
    the dir 0700, the files in it 0600 and its dirs 0700, also when an older version made them
    0644/0755 (issue 19). ``shopmail`` itself runs with umask 077, so new files are 0600 too."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if data_dir.stat().st_uid != os.getuid():
            return  # someone else's dir (e.g. a shared mount): leave it to them; `shopmail check` says so
        os.chmod(data_dir, 0o700)
        with os.scandir(data_dir) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                mode = entry.stat().st_mode
                if mode & 0o077:
                    os.chmod(entry.path, 0o700 if entry.is_dir() else (mode & 0o700) or 0o600)
    except OSError:  # a read-only mount: serving still works; `shopmail check` reports it
        return


def load() -> Config:
    data_dir = Path(os.environ.get("SHOPMAIL_DATA_DIR", "./shopmail-data")).resolve()
    make_private(data_dir)
    database_url = os.environ.get("DATABASE_URL") or None
    if database_url and urlsplit(database_url).scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(f"DATABASE_URL must be a postgresql:// or sqlite:// URL, not {database_url!r}")
    base_url = os.environ.get("SHOPMAIL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    if urlsplit(base_url).scheme not in {"http", "https"}:
        raise ConfigError("SHOPMAIL_BASE_URL must start with http:// or https://")
    return Config(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=_secret_key(data_dir),
        smtp_url=os.environ.get("SHOPMAIL_SMTP_URL") or None,
        base_url=base_url,
        debug=os.environ.get("SHOPMAIL_DEBUG") == "1",
        trusted_proxies=_trusted_proxies(),
    )


def _trusted_proxies() -> tuple[str, ...]:
    from shopmail.core.client_ip import ENV, parse_trusted

    try:
        return tuple(str(network) for network in parse_trusted(os.environ.get(ENV, "")))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# Settings read when used (a test or an operator may change them without a restart); every
# SHOPMAIL_* variable is read in this module and nowhere else.


def sendmail_path() -> str:
    """``SHOPMAIL_SENDMAIL``: the one program the sendmail transport may run (SPEC section 1)."""
    return os.environ.get("SHOPMAIL_SENDMAIL", "").strip() or "/usr/sbin/sendmail"


def retention_days_text() -> str:
    """``SHOPMAIL_RETENTION_DAYS`` as given ("" when unset); ``mail.retention`` checks it."""
    return os.environ.get("SHOPMAIL_RETENTION_DAYS", "").strip()


def trusted_proxies_text() -> str:
    """``SHOPMAIL_TRUSTED_PROXIES`` as given; ``core.client_ip`` parses and checks it."""
    return os.environ.get("SHOPMAIL_TRUSTED_PROXIES", "")
