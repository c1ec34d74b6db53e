"""Settings of the long-running services (receiver, workers), from the environment.

Start-up fails with one clear message naming every missing or invalid setting,
rather than a traceback from deep inside a request.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A required setting is missing or invalid; the message names it."""


class ServiceSettings(BaseSettings):
    """`MENDBOT_*` variables plus the conventional `REDIS_URL`."""

    model_config = SettingsConfigDict(env_prefix="MENDBOT_", extra="ignore", populate_by_name=True)

    webhook_secret: str | None = Field(None, description="HMAC secret shared with GitHub (MENDBOT_WEBHOOK_SECRET)")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    github_api_url: str = Field("https://api.github.com", description="REST base URL (GHE: https://HOST/api/v3)")
    github_app_id: str | None = None
    github_private_key: str | None = Field(None, description="App private key PEM text")
    github_private_key_path: Path | None = None
    github_token: str | None = Field(None, description="token mode: a PAT or an Actions token")
    token_cache_key: SecretStr | None = Field(
        None, description="seal installation tokens cached in Redis with this secret (Fernet)"
    )
    review_drafts: bool = False
    delivery_ttl_seconds: int = 7 * 24 * 3600
    max_body_bytes: int = 25 * 1024 * 1024
    write_interval_seconds: float = Field(
        1.0, description="minimum gap between content-creating requests per installation"
    )
    pr_lock_seconds: int = Field(
        90, description="per-PR lock lifetime; a job of a dead worker holds it at most this long"
    )
    model_queue: bool = Field(
        True,
        description="review workers may send one `model`-queue batch per PR when the repo's config has model = true",
    )
    broker_durability: str = Field(
        "require",
        pattern="^(require|warn)$",
        description="`require`: serve/worker refuse a broker Redis that keeps nothing on disk; `warn`: say so and run",
    )
    prove_per_file: int = Field(
        50, ge=0, description="findings proven per file of a pull request, most severe first; the rest are listed"
    )
    prove_per_review: int = Field(200, ge=0, description="findings proven per pull request, most severe first")
    prove_seconds: float = Field(
        60.0, gt=0, description="seconds a review spends proving; findings not reached by then are listed unproven"
    )
    retry_window_seconds: int = Field(
        6 * 3600, ge=60, description="how long a review is retried through GitHub errors after its delivery arrived"
    )
    review_time_limit: int = Field(
        300, ge=30, description="Celery hard time limit of a review (the soft limit is 30 s before it)"
    )
    model_timeout: float = Field(
        60.0, gt=0, description="seconds a review waits for its `model` batch; then it goes out codemod-only"
    )

    @model_validator(mode="after")
    def _key_from_path(self) -> ServiceSettings:
        if self.github_private_key is None and self.github_private_key_path is not None:
            try:
                self.github_private_key = self.github_private_key_path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"MENDBOT_GITHUB_PRIVATE_KEY_PATH: cannot read {self.github_private_key_path}: {exc}"
                ) from None
        return self

    @property
    def app_mode(self) -> bool:
        return bool(self.github_app_id and self.github_private_key)

    def require(self, *, receiver: bool = False, github: bool = False) -> ServiceSettings:
        """Check what a given service needs; raise `SettingsError` naming what is missing."""
        missing = []
        if receiver and not self.webhook_secret:
            missing.append("MENDBOT_WEBHOOK_SECRET (the receiver refuses to run without signature checks)")
        if github and not (self.app_mode or self.github_token):
            if self.github_app_id and not self.github_private_key:
                missing.append("MENDBOT_GITHUB_PRIVATE_KEY or MENDBOT_GITHUB_PRIVATE_KEY_PATH (App id is set)")
            else:
                missing.append(
                    "GitHub credentials: MENDBOT_GITHUB_APP_ID + MENDBOT_GITHUB_PRIVATE_KEY[_PATH], or MENDBOT_GITHUB_TOKEN"
                )
        if missing:
            raise SettingsError("missing settings: " + "; ".join(missing))
        return self


def load_service_settings() -> ServiceSettings:
    try:
        return ServiceSettings()
    except ValidationError as exc:
        raise SettingsError(f"invalid settings: {exc}") from None
