"""Extraction data shapes shared by the offline extractor and the LLM passes.

Pass 1 (preview) yields ``PreviewEntity`` items; pass 2 (describe) yields ``EntityDescription``.
The same pydantic models validate LLM tool output, so both paths produce identical shapes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EntityType = Literal["character", "prop", "location", "extra_archetype"]
ENTITY_TYPES: tuple[EntityType, ...] = ("character", "prop", "location", "extra_archetype")


class EntityMention(BaseModel):
    scene_number: int = Field(ge=1, description="The scene it appears in (1-based)")
    quote: str = Field(max_length=400, description="Short verbatim evidence from the scene")


class PreviewEntity(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: EntityType
    aliases: list[str] = Field(default_factory=list)
    scene_numbers: list[int] = Field(default_factory=list)
    mentions: list[EntityMention] = Field(default_factory=list)


class VisualConflict(BaseModel):
    detail: str = Field(description='e.g. "coat is blue in scene 3, red in scene 9"')
    scene_numbers: list[int] = Field(default_factory=list)


class EntityDescription(BaseModel):
    name: str
    description: str = Field(description="3-5 sentences of visual description for image generation")
    confidence: float = Field(ge=0.0, le=1.0)
    priority: bool = Field(description="Main character or key prop/location")
    conflicts: list[VisualConflict] = Field(default_factory=list)
