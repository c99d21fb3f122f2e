"""Extraction cost and wall time on airplane.fountain: our two passes next to the naive design of
seed 004 (one pass-1 call with the whole script, then one pass-2 call per entity, sequential),
both through the real anthropic SDK against the fake Anthropic server with a latency model
(0.5 s + 1 ms per output token), in the same run. Also the offline extractor's wall time.

Then, per sample script, the cost of three designs side by side: the naive one, our normal run,
and our economy run (pass 2 through the Message Batches API at ``llm_batch_discount`` of the
price; pass 1 as in the normal run). Each design starts with an empty prompt cache.

Run: python bench/bench_extraction.py [sample ...]   (or: make bench / python -m bench extraction)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.config import Settings  # noqa: E402
from shared.extraction import offline, passes  # noqa: E402
from shared.extraction.prompts import load  # noqa: E402
from shared.extraction.schemas import EntityDescription, PreviewEntity  # noqa: E402
from shared.llm.client import LLMCall, LLMClient  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.scripts.parser import ParsedScript, parse_script  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic  # noqa: E402
from tests.fakes.screenplay_responder import ScreenplayResponder  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "samples"
SAMPLE = SAMPLES / "airplane.fountain"
STYLE = "film noir, high contrast"


@dataclass
class Tally:
    calls: list[LLMCall] = field(default_factory=list)

    def record(self, call: LLMCall) -> None:
        self.calls.append(call)

    def total(self, attr: str) -> int:
        return sum(getattr(c.usage, attr) for c in self.calls)

    def input_cost(self, client: LLMClient) -> float:
        cost = 0.0
        for c in self.calls:
            p = client.prices_for(c.model)
            u = c.usage
            cost += (
                u.input_tokens * p.input
                + u.cache_creation_input_tokens * p.cache_write
                + u.cache_read_input_tokens * p.cache_read
            ) / 1e6
        return cost

    def cost(self) -> float:
        return sum(c.cost_usd for c in self.calls)


class NaiveEntities(BaseModel):
    entities: list[PreviewEntity]


class NaiveDescription(BaseModel):
    descriptions: list[EntityDescription]


class NaiveResponder(ScreenplayResponder):
    """Answers the naive pass 1 with every entity and every mention (seed 004 asks for all mentions
    of all entities in one answer); other tools as the screenplay responder does."""

    def __init__(self, truth: list[PreviewEntity]) -> None:
        super().__init__()
        self.truth = truth

    def __call__(self, body: dict[str, object]) -> dict[str, object] | str:
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("name") == "naive_entities":
            out = []
            for e in self.truth:
                quote = e.mentions[0].quote if e.mentions else e.name
                out.append(
                    {
                        "name": e.name,
                        "type": e.type,
                        "aliases": e.aliases,
                        "mentions": [{"scene_number": n, "quote": quote[:160]} for n in e.scene_numbers],
                    }
                )
            return {"entities": out}
        return super().__call__(body)


async def ours(
    script: ParsedScript, settings: Settings, client: LLMClient
) -> tuple[Tally, float, list[PreviewEntity]]:
    tally = Tally()
    start = time.perf_counter()
    entities = await passes.preview(script, settings=settings, llm=client, record=tally.record)
    await passes.describe(
        script,
        entities,
        settings=settings,
        llm=client,
        style_hint=STYLE,
        record=tally.record,
    )
    return tally, time.perf_counter() - start, entities


async def economy(script: ParsedScript, settings: Settings, client: LLMClient) -> tuple[Tally, int]:
    """Pass 1 as in the normal run, pass 2 as the extractor's economy job does it: submit the batch,
    come back until it ended, read the answers (a normal call for any that did not validate)."""
    tally = Tally()
    entities = await passes.preview(script, settings=settings, llm=client, record=tally.record)

    async def once(calls: Mapping[str, LLMCall]) -> int:
        for call in calls.values():
            tally.record(call)
        return len(calls)

    checkpoint = None
    polls = 0
    while True:
        out = await passes.describe_economy(
            script,
            entities,
            settings=settings,
            llm=client,
            style_hint=STYLE,
            record=tally.record,
            record_once=once,
            checkpoint=checkpoint,
        )
        if not isinstance(out, passes.Waiting):
            return tally, polls
        checkpoint = out.checkpoint
        polls += 1
        await asyncio.sleep(0.05)


async def naive(text: str, settings: Settings, client: LLMClient) -> tuple[Tally, float, int]:
    tally = Tally()
    start = time.perf_counter()
    system = (
        "You are a screenplay analyst. Extract all unique characters, props, locations and extras "
        "from this script with every mention (scene number and excerpt)."
    )
    found, call = await client.structured(
        model=settings.llm_model_preview,
        system=system,
        messages=[{"role": "user", "content": f"Analyze this screenplay:\n\n{text}"}],
        schema=NaiveEntities,
        tool_name="naive_entities",
        tool_description="All entities with mentions",
        max_tokens=64000,
        purpose="naive-preview",
    )
    tally.record(call)
    describe_system = load("describe_system")
    for e in found.entities:  # one call per entity, sequential, no caching (seed 004)
        mentions = "\n".join(f"Scene {m.scene_number}: {m.quote}" for m in e.mentions)
        user = f"- {e.name} ({e.type})\nStyle context: {STYLE}\n\nAll script mentions:\n{mentions}"
        _, call = await client.structured(
            model=settings.llm_model_describe,
            system=describe_system,
            messages=[{"role": "user", "content": user}],
            schema=NaiveDescription,
            tool_name="naive_describe",
            tool_description="Describe the asset",
            max_tokens=1024,
            purpose="naive-describe",
        )
        tally.record(call)
    return tally, time.perf_counter() - start, len(found.entities)


def row(name: str, t: Tally, wall: float, entities: int, client: LLMClient) -> str:
    return (
        f"{name:<8} {entities:>8} {len(t.calls):>6} {t.total('input_tokens'):>10} "
        f"{t.total('cache_creation_input_tokens'):>8} {t.total('cache_read_input_tokens'):>8} "
        f"{t.total('output_tokens'):>8} {t.input_cost(client):>10.4f} {t.cost():>9.4f} {wall:>8.1f}"
    )


async def compare(
    path: Path, settings: Settings, client: LLMClient, fake: FakeAnthropic
) -> tuple[ParsedScript, tuple[Tally, float, int], tuple[Tally, float, int], Tally, Tally]:
    """The three designs on one script, each from an empty prompt cache."""
    text = await asyncio.to_thread(path.read_text)
    script = parse_script(text)
    fake.clear_cache()
    fake.responder = ScreenplayResponder()
    mine, mine_wall, found = await ours(script, settings, client)
    fake.clear_cache()
    fake.responder = ScreenplayResponder()
    # Cache hits between the items of one batch are best-effort upstream: both bounds.
    fake.batch_shares_cache = False
    thrifty = await economy(script, settings, client)
    fake.clear_cache()
    fake.responder = ScreenplayResponder()
    fake.batch_shares_cache = True
    lucky = await economy(script, settings, client)
    fake.batch_shares_cache = False
    fake.clear_cache()
    fake.responder = NaiveResponder(found)
    base, base_wall, base_n = await naive(text, settings, client)
    return script, (mine, mine_wall, len(found)), (base, base_wall, base_n), thrifty[0], lucky[0]


async def main() -> None:
    configure_logging(Settings(log_level="WARNING"), process="bench")
    if not SAMPLE.exists():
        print(f"skipped: {SAMPLE} not found")
        return
    wanted = sys.argv[1:]
    samples = sorted(
        p for p in SAMPLES.iterdir() if p.suffix in (".fountain", ".txt") and (not wanted or p.name in wanted)
    )
    text = SAMPLE.read_text()
    t0 = time.perf_counter()
    script = parse_script(text)
    seeds = offline.preview_entities(script)
    offline.describe_entities(script, seeds)
    offline_s = time.perf_counter() - t0

    by_sample: dict[str, tuple[int, Tally, Tally, Tally, Tally]] = {}
    with FakeAnthropic(latency_base_s=0.5, latency_per_output_token_s=0.001) as fake:
        settings = Settings(
            environment="test",
            anthropic_api_key=SecretStr(fake.api_key),
            anthropic_base_url=fake.base_url,
            llm_max_retries=2,
        )
        client = LLMClient.from_settings(settings)
        try:
            for path in samples:
                parsed, (mine, mine_wall, mine_n), (base, base_wall, base_n), thrifty, lucky = await compare(
                    path, settings, client, fake
                )
                by_sample[path.name] = (len(parsed.scenes), base, mine, thrifty, lucky)
                if path == SAMPLE:
                    airplane = (mine, mine_wall, mine_n, base, base_wall, base_n)
        finally:
            await client.aclose()

    if SAMPLE.name in by_sample:
        mine, mine_wall, mine_n, base, base_wall, base_n = airplane
        print(
            f"airplane.fountain: {len(script.scenes)} scenes; latency model 0.5 s + 1 ms/output token; "
            f"USD/MTok in/out: preview {settings.llm_preview_price_input_per_mtok}/"
            f"{settings.llm_preview_price_output_per_mtok}, "
            f"describe {settings.llm_price_input_per_mtok}/{settings.llm_price_output_per_mtok}"
        )
        print(
            f"{'design':<8} {'entities':>8} {'calls':>6} {'input':>10} {'c.write':>8} {'c.read':>8} "
            f"{'output':>8} {'input $':>10} {'total $':>9} {'wall s':>8}"
        )
        print(row("ours", mine, mine_wall, mine_n, client))
        print(row("naive", base, base_wall, base_n, client))
        in_ratio = mine.input_cost(client) / base.input_cost(client)
        wall_ratio = mine_wall / base_wall
        print(f"billed input cost ours/naive: {in_ratio:.1%} (target <= 40%)")
        print(f"total cost ours/naive:        {mine.cost() / base.cost():.1%}")
        print(f"wall time ours/naive:         {wall_ratio:.1%} (target <= 20%)")
    print(f"offline extractor (parse + preview + describe): {offline_s:.2f} s (target < 2 s)")
    print()
    print(
        f"Total USD per sample: the naive two-pass design, our normal run, our economy run (pass 2 "
        f"through the Message Batches API at {settings.llm_batch_discount:.0%} of the price). Cache "
        "hits between the items of one batch are best-effort upstream: economy is given without any "
        "(hi) and with every item after the first reading the cached prefix (lo)."
    )
    print(
        f"{'sample':<34} {'scenes':>6} {'naive $':>8} {'normal $':>8} {'econ hi $':>9} {'econ lo $':>9} "
        f"{'normal/naive':>12} {'economy/naive':>14} {'economy/normal':>15}"
    )

    def line(name: str, scenes: str, base: float, mine: float, hi: float, lo: float) -> str:
        return (
            f"{name:<34} {scenes:>6} {base:>8.4f} {mine:>8.4f} {hi:>9.4f} {lo:>9.4f} {mine / base:>12.1%} "
            f"{f'{lo / base:.1%}-{hi / base:.1%}':>14} {f'{lo / mine:.1%}-{hi / mine:.1%}':>15}"
        )

    for name, (scenes, base, mine, thrifty, lucky) in by_sample.items():
        print(line(name, str(scenes), base.cost(), mine.cost(), thrifty.cost(), lucky.cost()))
    totals = (
        sum(base.cost() for _, base, _, _, _ in by_sample.values()),
        sum(mine.cost() for _, _, mine, _, _ in by_sample.values()),
        sum(hi.cost() for _, _, _, hi, _ in by_sample.values()),
        sum(lo.cost() for _, _, _, _, lo in by_sample.values()),
    )
    print(line("all", "", *totals))


if __name__ == "__main__":
    asyncio.run(main())
