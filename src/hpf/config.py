"""Settings from the environment (HPF_* variables), read in one place.

Unsafe values fail fast: a default secret key is refused when HPF_ENV=production.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    """Effective configuration of one hpf process."""

    model_config = SettingsConfigDict(env_prefix="HPF_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///hpf.db"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    policy_file: Path | None = None
    """A center's own policy TOML; when unset, the shipped Linyi defaults are used."""
    default_language: Literal["zh", "en"] = "zh"
    log_level: str = "INFO"
    cookie_secure: bool = False
    """Mark session cookies ``Secure`` (HPF_COOKIE_SECURE=true behind HTTPS)."""
    backup_keep: int = 7
    """Backups kept by ``hpf backup create`` (HPF_BACKUP_KEEP); older ones are removed."""
    signin_ip_max_failures: int = Field(default=20, ge=0)
    """Failed sign-ins from one address within the window before it is refused; 0 turns the
    throttle off (HPF_SIGNIN_IP_MAX_FAILURES). Behind a proxy every user shares its address."""
    signin_ip_window_minutes: int = Field(default=15, ge=1, le=1440)
    """The throttle's window in minutes (HPF_SIGNIN_IP_WINDOW_MINUTES)."""

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("HPF_SECRET_KEY must be set to a non-default value in production")
        if self.policy_file is not None and not self.policy_file.is_file():
            raise ValueError(f"HPF_POLICY_FILE does not exist: {self.policy_file}")
        return self

    def public_dict(self) -> dict[str, str]:
        """The settings as strings, secrets hidden and database passwords masked."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********"
            elif name == "database_url":
                out[name] = mask_url_password(str(value))
            else:
                out[name] = "" if value is None else str(value)
        return out


def mask_url_password(url: str) -> str:
    """Hide the password part of a database URL (``user:pw@host`` -> ``user:***@host``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    if ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
