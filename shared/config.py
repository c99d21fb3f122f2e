"""One settings object for the API and both workers.

Every knob an operator may turn is here, read from the environment with the ``FILMASSETS_`` prefix
(e.g. ``FILMASSETS_DATABASE_URL``). Defaults give a working laptop setup: local Postgres and Redis,
local storage, offline LLM and image providers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "dev-insecure-jwt-secret-change-me-0123456789"
DEV_STORAGE_SECRET = "dev-insecure-storage-signing-secret-0123456789"
# Where a frontend dev server usually runs (Vite's default port, by name and by address).
DEV_CORS_ORIGINS = (
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:3000",
    "http://127.0.0.1:3000",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FILMASSETS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON outside development

    # --- infrastructure
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/filmassets"
    # Connections an API process keeps (opened only as concurrency needs them) plus 5 of overflow.
    # Size it for the requests in flight at once: an overflow connection is closed the moment it
    # is returned to a full pool, so a pool smaller than the usual concurrency opens and closes a
    # connection (a PostgreSQL backend, milliseconds of CPU on both sides) every few requests. At
    # 10, a burst of 16 clients opened 35 connections a second.
    database_pool_size: int = 20
    database_connect_timeout_s: float = 3.0
    database_pool_timeout_s: float = 5.0
    # A pooled connection idle longer than this is pinged before use (shared/db.py).
    database_ping_after_idle_s: float = Field(default=1.0, ge=0)
    # Polled reads answered by their lean path (services/api/lean.py); off, FastAPI's full handler
    # answers every request: the same bytes, more CPU.
    lean_reads: bool = True
    redis_url: str = "redis://127.0.0.1:6379/0"

    # --- API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Base of signed local-storage URLs; empty: follows api_host and api_port.
    public_base_url: str = ""
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_audience: str | None = None  # Supabase tokens carry aud="authenticated"; None: not checked
    # /metrics asks for this bearer token when set; unset, it is served in development and test only.
    metrics_token: SecretStr | None = None
    max_body_bytes: int = 2 * 1024 * 1024
    max_script_bytes: int = 1024 * 1024
    inline_parse_max_bytes: int = 512 * 1024  # bigger scripts are parsed by the extractor worker
    max_upload_bytes: int = 20 * 1024 * 1024
    page_size_default: int = 50
    page_size_max: int = 200
    # Browser origins allowed to call the API (CORS), comma-separated or a JSON list. None: the
    # usual local dev origins in development/test, none at all in production.
    cors_origins: Annotated[list[str] | None, NoDecode] = None
    # Lifetime of the signed ?token= that lets a browser's EventSource open an events stream.
    events_token_ttl_s: int = Field(default=300, ge=10, le=3600)

    # --- jobs and workers
    extractor_queue: str = "filmassets:extractor"
    imagegen_queue: str = "filmassets:imagegen"
    extractor_concurrency: int = 8
    imagegen_concurrency: int = 4
    job_timeout_s: int = 600
    job_max_tries: int = 5
    shutdown_grace_s: int = 30
    relay_interval_s: float = 5.0
    relay_min_age_s: float = 2.0  # rows younger than this are left to the request that wrote them
    worker_poll_delay_s: float = 0.5  # idle wait between polls; enqueues wake workers at once
    job_heartbeat_s: float = 5.0  # a running job stamps its row this often
    job_dead_after_s: float = 20.0  # a running job silent this long is redelivered to another worker
    job_transient_retries: int = 2  # extra arq deliveries after an upstream stayed down
    job_retry_defer_s: float = 15.0
    storage_sweep_interval_s: int = 3600
    storage_sweep_min_age_s: int = 3600  # objects younger than this may still be waiting for their row

    # --- storage
    storage_backend: Literal["local", "s3"] = "local"
    storage_local_dir: Path = Path("var/storage")
    storage_signing_secret: SecretStr = SecretStr(DEV_STORAGE_SECRET)
    storage_url_ttl_s: int = 3600
    s3_bucket: str = "filmassets"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_create_bucket: bool = False

    # --- LLM (Anthropic)
    anthropic_api_key: SecretStr | None = None  # None: the offline extractor is used
    anthropic_base_url: str | None = None
    llm_model_preview: str = "claude-haiku-4-5"
    llm_model_describe: str = "claude-sonnet-4-6"
    llm_max_retries: int = 4
    llm_timeout_s: float = 120.0
    llm_chunk_token_budget: int = 12_000
    llm_describe_batch_size: int = 8
    llm_concurrency: int = 4
    # USD per million tokens: (input, output, cache write, cache read), per model family
    llm_price_input_per_mtok: float = 3.0
    llm_price_output_per_mtok: float = 15.0
    llm_price_cache_write_per_mtok: float = 3.75
    llm_price_cache_read_per_mtok: float = 0.30
    llm_preview_price_input_per_mtok: float = 1.0
    llm_preview_price_output_per_mtok: float = 5.0
    llm_preview_price_cache_write_per_mtok: float = 1.25
    llm_preview_price_cache_read_per_mtok: float = 0.10
    # Economy runs: the description pass goes through the Message Batches API, billed at this
    # fraction of the prices above (Anthropic: half), and the job checks the batch this often
    # without holding a worker slot in between.
    llm_batch_discount: float = Field(default=0.5, gt=0, le=1)
    llm_batch_poll_s: float = Field(default=60.0, gt=0)
    # Entities per batch request: twice the normal run's, since nobody waits on a batch's latency
    # and each request repeats the instructions prefix, which batch items read from the prompt
    # cache only on a best-effort basis (bench_extraction shows both bounds).
    llm_batch_describe_size: int = Field(default=16, ge=1)

    # --- images
    image_provider: Literal["offline", "openai"] = "offline"
    image_api_key: SecretStr | None = None
    image_base_url: str | None = None
    image_model: str = "gpt-image-1"
    image_price_per_image_usd: float = 0.04
    image_max_retries: int = 3
    image_timeout_s: float = 120.0
    attempt_cap: int = Field(default=4, ge=1, le=32)
    instance_attempt_cap: int = Field(default=4, ge=1, le=32)  # Stage 8: per scene instance
    # A scene instance removed from its scene keeps its images this long (re-adding brings them back).
    instance_purge_after_days: int = Field(default=30, ge=0)
    upload_max_side: int = 2048
    upload_max_pixels: int = 50_000_000
    thumbnail_side: int = 320
    image_base_side: int = 1024

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, raw: object) -> object:
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("["):
                return json.loads(text)
            return [o.strip().rstrip("/") for o in text.split(",") if o.strip()]
        return raw

    @property
    def allowed_origins(self) -> list[str]:
        if self.cors_origins is not None:
            return self.cors_origins
        return [] if self.environment == "production" else list(DEV_CORS_ORIGINS)

    @model_validator(mode="after")
    def _default_base_url(self) -> Settings:
        if not self.public_base_url:
            host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host
            self.public_base_url = f"http://{host}:{self.api_port}"
        return self

    def as_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment variables that make another process build these same settings (e.g. a worker
        subprocess). ``FILMASSETS_*`` variables inherited from ``base`` are dropped, so a developer's
        own configuration cannot leak in."""
        env = {k: v for k, v in (base or {}).items() if not k.startswith("FILMASSETS_")}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"FILMASSETS_{name.upper()}"] = str(value)
        return env

    @property
    def database_name(self) -> str:
        return self.database_url.rsplit("/", 1)[-1].split("?", 1)[0]

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.environment == "production":
            if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                raise ValueError("FILMASSETS_JWT_SECRET must be set outside development")
            if self.storage_signing_secret.get_secret_value() == DEV_STORAGE_SECRET:
                raise ValueError("FILMASSETS_STORAGE_SIGNING_SECRET must be set outside development")
        return self

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"

    @property
    def llm_offline(self) -> bool:
        return self.anthropic_api_key is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
