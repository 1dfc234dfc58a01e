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
class Config:
    data_dir: Path
    database_url: str | None
    secret_key: str
    smtp_url: str | None
    base_url: str
    debug: bool
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


def load() -> Config:
    data_dir = Path(os.environ.get("SHOPMAIL_DATA_DIR", "./shopmail-data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
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
