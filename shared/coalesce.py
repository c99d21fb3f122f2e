"""Group sends: many small writes to one server, a round trip for many.

A process that writes a few Redis commands per request or per job (the outbox's enqueue, a job's
status events) pays mostly for the round trip: a socket write and the server waking up, each
costing more CPU than the commands themselves. ``GroupSend`` sends at once when nothing is on its
way, and otherwise makes whatever arrives meanwhile wait for that send and go after it, together,
in one round trip: what a database's group commit does with its log flushes. Under load the round
trips per item fall with the load; alone, an item goes at once, with no added latency and no task.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Sends ``items`` in one round trip; ``try_target`` is False for a batch that waited behind a send
# the target did not answer (it should be set aside at once, not wait out a second timeout).
# Returns whether the target answered; never raises.
Send = Callable[[list[T], bool], Awaitable[bool]]


class GroupSend(Generic[T]):
    """One send on its way at a time; items that arrive meanwhile go together after it. Each
    caller returns once its own items were sent (or set aside by ``send``)."""

    __slots__ = ("_send", "_sending", "_task", "_waiting")

    def __init__(self, send: Send[T]) -> None:
        self._send = send
        self._sending = False
        self._waiting: list[tuple[list[T], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None  # the batch being sent (a reference keeps it)

    async def __call__(self, items: list[T]) -> None:
        if self._sending:
            done = asyncio.get_running_loop().create_future()
            self._waiting.append((items, done))
            await done
            return
        self._sending = True
        answered = False
        try:
            answered = await self._send(items, True)
        finally:
            self._next(answered=answered)

    def _next(self, *, answered: bool) -> None:
        """The send on its way is done: send what waited for it, as one."""
        if not self._waiting:
            self._sending, self._task = False, None
            return
        batch, self._waiting = self._waiting, []
        # A fresh context: the batch is not the caller's whose send went before it (its log lines
        # would carry that request's or job's id).
        self._task = asyncio.get_running_loop().create_task(
            self._send_batch(batch, try_target=answered), context=contextvars.Context()
        )

    async def _send_batch(
        self, batch: list[tuple[list[T], asyncio.Future[None]]], *, try_target: bool
    ) -> None:
        answered = False
        try:
            answered = await self._send([item for items, _ in batch for item in items], try_target)
        finally:
            for _, done in batch:
                if not done.done():  # a caller that was cancelled has stopped waiting
                    done.set_result(None)
            self._next(answered=answered)
