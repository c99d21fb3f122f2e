"""The text of image generation prompts: subject, style, and the rules each asset type follows.

Characters, props and extras are reference images that later stages composite into frames, so the
prompt asks for the subject alone on a plain background (and the worker then cuts that background
out). A location *is* the environment: its prompt must not ask for isolation, or the model would
paint an empty studio.
"""

from __future__ import annotations

from typing import Final

from shared.models import ProjectAsset
from shared.styles.schemas import StyleSnapshot

ISOLATED: Final = "Isolated subject on a plain background"
ISOLATED_TYPES: Final = frozenset({"character", "prop", "extra_archetype"})

_FRAMING: Final[dict[str, str]] = {
    "character": "Character reference sheet of {name}, full body, one figure.",
    "extra_archetype": (
        "Reference for background extras of the archetype {name}: one representative figure, full body."
    ),
    "prop": "Prop reference of {name}, the whole object in view.",
    "location": "Establishing reference of the location {name}: the environment itself, wide view.",
}
_TYPE_RULES: Final[dict[str, str]] = {
    "character": f"{ISOLATED}, even lighting, no other figures, no text or labels.",
    "extra_archetype": f"{ISOLATED}, even lighting, no other figures, no text or labels.",
    "prop": f"{ISOLATED}, even lighting, no hands holding it, no text or labels.",
    # Nothing about backgrounds here on purpose (see the module docstring).
    "location": "No characters in the foreground, no text or labels.",
}
_VIEWS: Final[dict[str, str]] = {
    "front": "Front view, facing the camera.",
    "side": "Side view, in profile.",
    "three-quarter": "Three-quarter view, turned 45 degrees from the camera.",
    "back": "Back view, facing away from the camera.",
}


def removes_background(asset_type: str) -> bool:
    """Whether generated images of this type go through background removal."""
    return asset_type in ISOLATED_TYPES


def build_prompt(asset: ProjectAsset, style: StyleSnapshot, view: str | None = None) -> str:
    """The full prompt sent to the image provider and snapshotted on the attempt.

    The user's image prompt override replaces the description (it is what they want the model to
    read), but the style and the type rules are always added: the style is the project's locked
    look, and the rules keep the reference usable downstream.
    """
    subject = (asset.image_prompt or "").strip() or asset.description.strip()
    lines = [_FRAMING[asset.type].format(name=asset.name)]
    if subject:
        lines.append(subject)
    if view:
        lines.append(_VIEWS[view])
    lines.append(f"Visual style: {style.prompt_fragment.strip().rstrip('.')}.")
    lines.append(_TYPE_RULES[asset.type])
    return "\n".join(lines)


def negative_prompt(style: StyleSnapshot) -> str | None:
    return style.negative_fragment.strip() or None
