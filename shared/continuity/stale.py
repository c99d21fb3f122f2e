"""Stale images: an image made from text that has changed since.

Every generated attempt keeps the prompt it was made from (``prompt_snapshot``). An image is stale
when the text it depicts is no longer in that prompt: the asset's description (or its image prompt
override) for a master image, and also the instance's visual state for a scene image. Computed on
read, so nothing is written when a description changes and nothing is ever deleted; a new image
(generated from the current text) or selecting an image that is current clears the mark.
Uploaded images have no prompt and are never stale: the user chose them as they are.
"""

from __future__ import annotations

from typing import Protocol

from shared.continuity.schemas import StaleMark
from shared.models import AssetAttempt, SceneInstanceAttempt

FRESH = StaleMark(stale=False, made_from=None, reason=None)


class Described(Protocol):
    @property
    def description(self) -> str: ...
    @property
    def image_prompt(self) -> str | None: ...


def _subject(asset: Described) -> str:
    return ((asset.image_prompt or "").strip() or asset.description.strip()).strip()


def master_stale(asset: Described, attempt: AssetAttempt) -> StaleMark:
    snapshot = attempt.prompt_snapshot
    if attempt.source != "generated" or not snapshot:
        return FRESH
    subject = _subject(asset)
    if subject and subject not in snapshot:
        return StaleMark(stale=True, made_from=snapshot, reason="description_changed")
    return FRESH


def instance_stale(asset: Described, visual_state: str, attempt: SceneInstanceAttempt) -> StaleMark:
    snapshot = attempt.prompt_snapshot
    if attempt.source != "generated" or not snapshot:
        return FRESH
    subject = _subject(asset)
    if subject and subject not in snapshot:
        return StaleMark(stale=True, made_from=snapshot, reason="description_changed")
    state = visual_state.strip().rstrip(".")
    # shared/stage8/prompts.py writes the state as "In this scene (<heading>): <state>."
    had_state = "In this scene (" in snapshot
    if (state and f"): {state}." not in snapshot) or (not state and had_state):
        return StaleMark(stale=True, made_from=snapshot, reason="visual_state_changed")
    return FRESH


def stale_of(
    asset: Described, visual_state: str | None, attempt: AssetAttempt | SceneInstanceAttempt | None
) -> StaleMark | None:
    """The mark of an effective image (None when there is no image)."""
    if attempt is None:
        return None
    if isinstance(attempt, AssetAttempt):
        return master_stale(asset, attempt)
    return instance_stale(asset, visual_state or "", attempt)
