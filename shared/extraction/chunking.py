"""What pass 1 sends: scene headings, who speaks, and action lines, in chunks under a token budget.

Dialogue is left out on purpose: speakers already come from the parser's cues, and props, extras
and looks are introduced in action lines. On a feature script this halves the input tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.scripts.parser import ParsedScene, normalize_cue

CHARS_PER_TOKEN = 4  # a conservative average for English screenplay text


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def scene_digest(scene: ParsedScene) -> str:
    speakers: list[str] = []
    actions: list[str] = []
    for el in scene.elements:
        if el.kind == "character":
            name = normalize_cue(el.text)
            if name and name not in speakers:
                speakers.append(name)
        elif el.kind in ("action", "centered"):
            actions.append(el.text.strip())
    head = f"Scene {scene.number}: {scene.heading}"
    if speakers:
        head += f"\nSpeakers: {', '.join(speakers)}"
    body = "\n".join(a for a in actions if a)
    return f"{head}\n{body}" if body else head


@dataclass(frozen=True, slots=True)
class Chunk:
    scene_numbers: tuple[int, ...]
    text: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


def chunk_scenes(scenes: Sequence[ParsedScene], *, budget_tokens: int) -> list[Chunk]:
    """Consecutive scenes grouped so each chunk stays under ``budget_tokens`` (a single scene
    larger than the budget gets a chunk of its own rather than being cut mid-scene)."""
    chunks: list[Chunk] = []
    numbers: list[int] = []
    parts: list[str] = []
    size = 0
    for scene in scenes:
        digest = scene_digest(scene)
        cost = estimate_tokens(digest)
        if parts and size + cost > budget_tokens:
            chunks.append(Chunk(tuple(numbers), "\n\n".join(parts)))
            numbers, parts, size = [], [], 0
        numbers.append(scene.number)
        parts.append(digest)
        size += cost
    if parts:
        chunks.append(Chunk(tuple(numbers), "\n\n".join(parts)))
    return chunks
