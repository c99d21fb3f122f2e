"""The prompt of a scene image: the asset's master prompt (subject, style, type rules, from
shared/attempts/prompts.py) plus what this scene changes, and how to use the reference image."""

from __future__ import annotations

from typing import Final

from shared.attempts.prompts import build_prompt
from shared.models import ProjectAsset
from shared.styles.schemas import StyleSnapshot

# Said only when a reference image goes with the prompt: without one there is nothing to keep.
KEEP_REFERENCE: Final = (
    "Keep the subject's identity, proportions and design from the reference image; change only what "
    "this scene describes."
)


def scene_prompt(
    asset: ProjectAsset, style: StyleSnapshot, *, visual_state: str, heading: str, has_reference: bool
) -> str:
    lines = [build_prompt(asset, style)]
    state = visual_state.strip()
    if state:
        lines.append(f"In this scene ({heading.strip()}): {state.rstrip('.')}.")
    if has_reference:
        lines.append(KEEP_REFERENCE)
    return "\n".join(lines)
