"""Settings: read once from the environment (and an optional .env) at start, then passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the writer service; names are the WRITER_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="WRITER_", env_file=".env", extra="ignore")

    listen_address: str = "127.0.0.1:50051"
    data_dir: Path = Path("./var")
    database_url: str = ""
    broker_url: str = ""
    media_root: Path | None = None

    text_provider: Literal["template", "openai"] = "template"
    image_provider: Literal["placeholder", "openai"] = "placeholder"
    openai_base_url: str = ""
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    openai_image_model: str = "gpt-image-1"
    openai_timeout_seconds: float = 60.0
    openai_max_retries: int = 3

    # Prices in credits (see domain/pricing.py).
    credits_per_100_words: int = Field(default=1, ge=0)
    min_content_credits: int = Field(default=1, ge=0)
    image_prompt_credits: int = Field(default=1, ge=0)
    image_credits: int = Field(default=2, ge=0)
    default_word_count: int = Field(default=1000, ge=100)
    # Generation runs.
    job_item_max_attempts: int = Field(default=3, ge=1)
    in_process_job_concurrency: int = Field(default=2, ge=1)
    job_event_poll_seconds: float = Field(default=0.1, gt=0)
    # Rendered image sizes ("WxH") and file format; the defaults are sizes OpenAI's images API accepts.
    featured_image_size: str = Field(default="1536x1024", pattern=r"^[0-9]{2,4}x[0-9]{2,4}$")
    in_article_image_size: str = Field(default="1024x1024", pattern=r"^[0-9]{2,4}x[0-9]{2,4}$")
    image_format: Literal["png", "webp", "jpeg"] = "png"
    worker_visibility_timeout_seconds: int = Field(default=300, ge=5)
    worker_concurrency: int = Field(default=2, ge=1)

    # Server behaviour.
    shutdown_grace_seconds: float = 10.0
    max_message_bytes: int = 16 * 1024 * 1024
    # Keepalive: pings every 5 minutes; clients may ping every 60 s; streams stay open for hours.
    keepalive_time_ms: int = 300_000
    keepalive_timeout_ms: int = 20_000
    min_client_ping_interval_ms: int = 60_000
    max_connection_idle_ms: int = 0  # 0: never close an idle connection
    auth_cache_seconds: float = 30.0
    auto_migrate: bool = True
    log_level: str = "INFO"
    db_pool_size: int = Field(default=10, ge=1)

    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'writer.db').resolve()}"

    def resolved_media_root(self) -> Path:
        """Where image files live: WRITER_MEDIA_ROOT, or media/ in the data directory."""
        return (self.media_root or self.data_dir / "media").resolve()

    def is_embedded_database(self) -> bool:
        """True when the service runs on its own SQLite file."""
        return self.resolved_database_url().startswith("sqlite")
