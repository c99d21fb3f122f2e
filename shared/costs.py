"""What a project has spent: LLM tokens and dollars, and image generations, by job kind."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AssetAttempt, Job


class KindCost(BaseModel):
    kind: str
    jobs: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    usd: float


class CostsOut(BaseModel):
    total_usd: float
    llm_usd: float
    image_usd: float
    images_generated: int
    by_kind: list[KindCost]


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
