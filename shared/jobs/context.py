"""What a worker process builds once at startup and every job of it may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.images.providers.base import ImageProvider
from shared.jobs.events import Publisher
from shared.llm.client import LLMClient
from shared.storage.base import Storage


@dataclass(slots=True)
class WorkerContext:
    """Typed replacement for arq's ``ctx`` dict. ``llm`` is None when no LLM key is configured (the
    offline extractor runs instead); ``images`` is None on the extractor, which draws nothing."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    storage: Storage
    llm: LLMClient | None = None
    images: ImageProvider | None = None
    # Job and project events, several jobs' in one round trip when they come together.
    events: Publisher = field(init=False)

    def __post_init__(self) -> None:
        self.events = Publisher(self.redis)

    def image_provider(self) -> ImageProvider:
        if self.images is None:
            raise RuntimeError("this worker has no image provider (jobs drawing images run on imagegen)")
        return self.images
