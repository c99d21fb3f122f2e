"""Stale images: an image made from text that has changed since.

Every generated attempt keeps the prompt it was made from (``prompt_snapshot``). An image is stale
when the text it depicts is no longer in that prompt: the asset's description (or its image prompt
override) for a master image, and also the instance's visual state for a scene image. Computed on
read, so nothing is written when a description changes and nothing is ever deleted; a new image
(generated from the current text) clears the mark.

Selecting an image accepts it for the current text: the select records ``accepted_for`` on the
attempt (a hash of the asset's subject, followed for a scene image by one of its visual state), and
each part counts as current while it still hashes the same. Change a text again and the prompt
decides for that part once more (stale, with ``made_from`` still the prompt it was made from, and
the reason naming the text that changed). Hashes, not the texts: the column only ever answers "is
it still this text", and descriptions can be long.
Uploaded images have no prompt and are never stale: the user chose them as they are.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from shared.models import AssetAttempt, SceneInstanceAttempt
from shared.stage8.schemas import StaleMark

FRESH = StaleMark(stale=False, made_from=None, reason=None)


class Described(Protocol):
    @property
    def description(self) -> str: ...
    @property
    def image_prompt(self) -> str | None: ...


def _subject(asset: Described) -> str:
    return ((asset.image_prompt or "").strip() or asset.description.strip()).strip()


def _state(visual_state: str) -> str:
    return visual_state.strip().rstrip(".")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def accepted_key(asset: Described, visual_state: str | None = None) -> str:
    """What a select records on the attempt: the subject's digest, then for a scene image
    (``visual_state`` given) the state's digest; 64 characters at most."""
    key = _digest(_subject(asset))
    return key if visual_state is None else key + _digest(_state(visual_state))


def _accepted(key: str | None) -> tuple[str | None, str | None]:
    """The (subject, state) digests an image was accepted for (None: never selected for them)."""
    if not key:
        return None, None
    return key[:32], key[32:] or None


def master_stale(asset: Described, attempt: AssetAttempt) -> StaleMark:
    return master_mark(asset, attempt.source, attempt.prompt_snapshot, attempt.accepted_for)


def master_mark(
    asset: Described, source: str, prompt_snapshot: str | None, accepted_for: str | None
) -> StaleMark:
    """``master_stale`` from the attempt's columns (the timeline's lean read has rows, not objects)."""
    if is_master_stale(asset, source, prompt_snapshot, accepted_for):
        return StaleMark(stale=True, made_from=prompt_snapshot, reason="description_changed")
    return FRESH


def is_master_stale(
    asset: Described, source: str, prompt_snapshot: str | None, accepted_for: str | None
) -> bool:
    """``master_stale(...).stale`` from the attempt's columns (the carousel reads rows, not objects)."""
    if source != "generated" or not prompt_snapshot:
        return False
    subject = _subject(asset)
    accepted_subject = accepted_for[:32] if accepted_for else None
    return bool(subject) and subject not in prompt_snapshot and accepted_subject != _digest(subject)


def instance_stale(asset: Described, visual_state: str, attempt: SceneInstanceAttempt) -> StaleMark:
    return instance_mark(asset, visual_state, attempt.source, attempt.prompt_snapshot, attempt.accepted_for)


def instance_mark(
    asset: Described, visual_state: str, source: str, snapshot: str | None, accepted_for: str | None
) -> StaleMark:
    """``instance_stale`` from the attempt's columns."""
    if source != "generated" or not snapshot:
        return FRESH
    accepted_subject, accepted_state = _accepted(accepted_for)
    subject = _subject(asset)
    if subject and subject not in snapshot and accepted_subject != _digest(subject):
        return StaleMark(stale=True, made_from=snapshot, reason="description_changed")
    state = _state(visual_state)
    if accepted_state is not None and accepted_state == _digest(state):
        return FRESH
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
