"""A page that falls so far behind that the capped project stream dropped events it had not read is
told so (``reset``), never silently skipped past them."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from services.api.routers.events import _trimmed_after


async def test_a_reader_behind_the_trimmed_part_is_detected(redis: Redis) -> None:
    key = f"test-stream-gap:{uuid.uuid4()}"
    try:
        ids = [(await redis.xadd(key, {"n": str(n)})).decode() for n in range(10)]
        await redis.xtrim(key, maxlen=5, approximate=False)  # ids[0..4] are gone
        assert await _trimmed_after(redis, key, ids[2]) is True
        assert await _trimmed_after(redis, key, ids[5]) is False  # still held: nothing lost
        assert await _trimmed_after(redis, key, ids[9]) is False
        assert await _trimmed_after(redis, key, "0-0") is False  # a new page, not a lagging one
    finally:
        await redis.delete(key)
