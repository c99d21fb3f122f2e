"""``GroupSend`` (shared/coalesce.py), the group commit under the outbox and the workers' events:
what meets a send on its way goes after it in one, nothing is lost or reordered, and a target that
did not answer is not waited on again by the batch behind it."""

from __future__ import annotations

import asyncio

from shared.coalesce import GroupSend


class Target:
    """A server that answers when the test lets it: records each round trip."""

    def __init__(self) -> None:
        self.trips: list[tuple[list[int], bool]] = []
        self.gate = asyncio.Event()
        self.answers = True
        self.reached = asyncio.Event()  # a send is on its way

    async def first_send(self) -> None:
        async with asyncio.timeout(2):
            await self.reached.wait()

    async def send(self, items: list[int], try_target: bool) -> bool:
        self.trips.append((list(items), try_target))
        self.reached.set()
        if try_target:
            await self.gate.wait()
        return try_target and self.answers


async def test_items_that_meet_a_send_go_together_after_it_in_order() -> None:
    target = Target()
    group: GroupSend[int] = GroupSend(target.send)
    first = asyncio.create_task(group([0]))
    await target.first_send()
    later = [asyncio.create_task(group([i, i + 100])) for i in range(1, 11)]
    await asyncio.sleep(0.01)
    assert not any(t.done() for t in [first, *later])  # all wait for the one on its way
    target.gate.set()
    await asyncio.gather(first, *later)
    assert target.trips == [
        ([0], True),
        ([x for i in range(1, 11) for x in (i, i + 100)], True),
    ]
    # Nothing on its way: the next goes at once, by its caller.
    await group([7])
    assert target.trips[-1] == ([7], True)


async def test_a_batch_behind_a_send_that_got_no_answer_is_not_held_up() -> None:
    target = Target()
    target.answers = False
    group: GroupSend[int] = GroupSend(target.send)
    first = asyncio.create_task(group([1]))
    await target.first_send()
    second = asyncio.create_task(group([2]))
    await asyncio.sleep(0)
    target.gate.set()
    await asyncio.gather(first, second)
    # The batch that waited is handed over without trying the target (it would wait out a timeout).
    assert target.trips == [([1], True), ([2], False)]
    # Once nothing is on its way, the next call tries the target again.
    target.answers = True
    await group([3])
    assert target.trips[-1] == ([3], True)


async def test_a_caller_that_stops_waiting_loses_nobody_elses_items() -> None:
    target = Target()
    group: GroupSend[int] = GroupSend(target.send)
    first = asyncio.create_task(group([1]))
    await target.first_send()
    impatient = asyncio.create_task(group([2]))
    patient = asyncio.create_task(group([3]))
    await asyncio.sleep(0)
    impatient.cancel()
    target.gate.set()
    await asyncio.gather(first, patient)
    assert impatient.cancelled()
    # Its items had joined the batch: they still go (sent, not half-sent), with the others.
    assert target.trips == [([1], True), ([2, 3], True)]
