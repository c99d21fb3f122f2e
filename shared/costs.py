"""What a project has spent: LLM tokens and dollars, and image generations, by job kind."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AssetAttempt, Job

KIND_COST_EXAMPLE: dict[str, Any] = {
    "kind": "extract.confirm",
    "jobs": 3,
    "input_tokens": 42000,
    "output_tokens": 6100,
    "cache_write_tokens": 12000,
    "cache_read_tokens": 24000,
    "usd": 0.2143,
}


class KindCost(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [KIND_COST_EXAMPLE]})

    kind: str = Field(description="Job kind, e.g. `extract.confirm` or `image.generate`")
    jobs: int = Field(description="How many jobs of this kind the project has run")
    input_tokens: int = Field(description="LLM input tokens, summed over those jobs")
    output_tokens: int = Field(description="LLM output tokens, summed over those jobs")
    cache_write_tokens: int = Field(description="LLM prompt-cache write tokens, summed over those jobs")
    cache_read_tokens: int = Field(description="LLM prompt-cache read tokens, summed over those jobs")
    usd: float = Field(description="What those jobs cost, in US dollars")


class CostsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total_usd": 0.3343,
                    "llm_usd": 0.2143,
                    "image_usd": 0.12,
                    "images_generated": 3,
                    "by_kind": [
                        KIND_COST_EXAMPLE,
                        {
                            "kind": "image.generate",
                            "jobs": 3,
                            "input_tokens": 0,
                            "output_tokens": 0,
                            "cache_write_tokens": 0,
                            "cache_read_tokens": 0,
                            "usd": 0.12,
                        },
                    ],
                }
            ]
        }
    )

    total_usd: float = Field(description="Everything the project has spent, in US dollars")
    llm_usd: float = Field(description="The part spent on LLM calls (every job kind not `image.*`)")
    image_usd: float = Field(description="The part spent by `image.*` jobs")
    images_generated: int = Field(description="How many images were generated (uploads not counted)")
    by_kind: list[KindCost] = Field(description="Spending per job kind, ordered by kind")


async def project_costs(session: AsyncSession, project_id: uuid.UUID) -> CostsOut:
    rows = (
        await session.execute(
            select(
                Job.kind,
                func.count(),
                func.sum(Job.input_tokens),
                func.sum(Job.output_tokens),
                func.sum(Job.cache_write_tokens),
                func.sum(Job.cache_read_tokens),
                func.sum(Job.cost_usd),
            )
            .where(Job.project_id == project_id)
            .group_by(Job.kind)
            .order_by(Job.kind)
        )
    ).all()
    by_kind = [
        KindCost(
            kind=k,
            jobs=n,
            input_tokens=int(i or 0),
            output_tokens=int(o or 0),
            cache_write_tokens=int(w or 0),
            cache_read_tokens=int(r or 0),
            usd=float(c or 0),
        )
        for k, n, i, o, w, r, c in rows
    ]
    images = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(AssetAttempt.cost_usd), 0)).where(
                AssetAttempt.project_id == project_id, AssetAttempt.source == "generated"
            )
        )
    ).one()
    total = sum(k.usd for k in by_kind)
    image_usd = sum(k.usd for k in by_kind if k.kind.startswith("image."))
    return CostsOut(
        total_usd=round(total, 6),
        llm_usd=round(total - image_usd, 6),
        image_usd=round(image_usd, 6),
        images_generated=int(images[0]),
        by_kind=by_kind,
    )
