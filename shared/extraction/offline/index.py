"""What the offline extractor reads from a parsed script, and how it accumulates findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.extraction.offline.text import Casing, trim_quote
from shared.extraction.schemas import EntityMention, EntityType, PreviewEntity
from shared.scripts.parser import ParsedScene, ParsedScript, normalize_cue

MAX_QUOTES_PER_SCENE = 3
MAX_MENTIONS = 12


@dataclass(frozen=True, slots=True)
class Action:
    scene: int
    position: int  # element index inside the scene: orders findings within a scene
    text: str


@dataclass(frozen=True, slots=True)
class Speech:
    scene: int
    position: int
    cue: str  # normalize_cue() of the cue line
    text: str  # the first dialogue element, for a quote


@dataclass(frozen=True, slots=True)
class ScriptIndex:
    scenes: tuple[ParsedScene, ...]
    actions: tuple[Action, ...]
    speeches: tuple[Speech, ...]
    casing: Casing

    @classmethod
    def build(cls, script: ParsedScript) -> ScriptIndex:
        actions: list[Action] = []
        speeches: list[Speech] = []
        for scene in script.scenes:
            elements = scene.elements
            for position, element in enumerate(elements):
                if element.kind == "action":
                    actions.append(Action(scene.number, position, element.text))
                elif element.kind == "character" and (cue := normalize_cue(element.text)) is not None:
                    spoken = next(
                        (later.text for later in elements[position + 1 :] if later.kind == "dialogue"), ""
                    )
                    speeches.append(Speech(scene.number, position, cue, spoken))
        texts = [element.text for scene in script.scenes for element in scene.elements]
        return cls(script.scenes, tuple(actions), tuple(speeches), Casing(texts))

    def actions_in(self, scene_numbers: Iterable[int]) -> list[Action]:
        wanted = set(scene_numbers)
        return [action for action in self.actions if action.scene in wanted]


@dataclass(slots=True)
class Found:
    """One entity being collected: where it appears and the evidence quoted for each scene."""

    type: EntityType
    name: str
    aliases: list[str] = field(default_factory=list)
    first: tuple[int, int, int] = (1 << 30, 0, 0)
    quotes: dict[int, list[str]] = field(default_factory=dict)
    fallback: dict[int, str] = field(default_factory=dict)  # used when a scene has no quote
    speeches: int = 0

    def see(self, scene: int, position: int, offset: int = 0, quote: str | None = None) -> None:
        self.first = min(self.first, (scene, position, offset))
        quotes = self.quotes.setdefault(scene, [])
        if quote:
            quote = trim_quote(quote)
            if quote not in quotes and len(quotes) < MAX_QUOTES_PER_SCENE:
                quotes.append(quote)

    def alias(self, *names: str) -> None:
        for name in names:
            if name and name != self.name and name not in self.aliases:
                self.aliases.append(name)

    def to_preview(self) -> PreviewEntity:
        scenes = sorted(self.quotes)
        per_scene = {scene: self.quotes[scene] or _listed(self.fallback.get(scene)) for scene in scenes}
        # Breadth first: one quote from each scene before a second from any, so the evidence
        # covers the entity's whole run instead of its first few scenes.
        chosen: list[tuple[int, int, str]] = []
        for depth in range(MAX_QUOTES_PER_SCENE):
            for scene in scenes:
                if len(chosen) < MAX_MENTIONS and depth < len(per_scene[scene]):
                    chosen.append((scene, depth, per_scene[scene][depth]))
        mentions = [EntityMention(scene_number=scene, quote=quote) for scene, _, quote in sorted(chosen)]
        return PreviewEntity(
            name=self.name,
            type=self.type,
            aliases=list(self.aliases),
            scene_numbers=scenes,
            mentions=mentions,
        )


def _listed(quote: str | None) -> list[str]:
    return [trim_quote(quote)] if quote else []
