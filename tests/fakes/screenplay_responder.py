"""A responder for the fake Anthropic server that answers our extraction tools the way a model
would, from the text it is actually sent (so token counts and outputs scale with the input).

- ``report_entities`` (pass 1): upper-case words of 4+ letters in the action lines that are not
  speakers become props, with the line as evidence; ``same_as`` is scripted by the test.
- ``describe_assets`` (pass 2): a 3-sentence description per asset listed in the prompt.
- ``naive_entities`` / ``naive_describe`` serve the naive design of the benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
_SCENE = re.compile(r"^Scene (\d+): ")
_ITEM = re.compile(r"^- (.+?) \((character|prop|location|extra_archetype)[;)]", re.M)
_CAPS = re.compile(r"\b[A-Z][A-Z'-]{2,}(?:\s+[A-Z][A-Z'-]{2,})*\b")
_SKIP = {
    "INT",
    "EXT",
    "CONTINUOUS",
    "LATER",
    "NIGHT",
    "MORNING",
    "EVENING",
    "CUT",
    "FADE",
    "ANGLE",
    "CLOSE",
    "BACK",
    "SCENE",
    "SPEAKERS",
    "THE",
    "AND",
    "WITH",
    "FROM",
    "INTO",
    "THEN",
    "THEY",
    "THIS",
    "THAT",
}


def _text_of(body: JSON) -> str:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(b.get("text", "") for b in content if isinstance(b, dict))
    return "\n".join(parts)


def _tool(body: JSON) -> str:
    choice = body.get("tool_choice") or {}
    return str(choice.get("name", ""))


@dataclass
class ScreenplayResponder:
    same_as: list[list[str]] = field(default_factory=list)
    invalid_times: int = 0  # answer the first N calls with output that fails validation
    describe_text: Callable[[str, str], str] | None = None
    calls: dict[str, int] = field(default_factory=dict)

    def __call__(self, body: JSON) -> JSON | str:
        tool = _tool(body)
        self.calls[tool] = self.calls.get(tool, 0) + 1
        if self.invalid_times > 0:
            self.invalid_times -= 1
            return {"entities": "not a list", "descriptions": [{"name": 3}]}
        text = _text_of(body)
        if tool in ("report_entities", "naive_entities"):
            return {"entities": self._props(text), "same_as": self.same_as}
        if tool in ("describe_assets", "naive_describe"):
            return {"descriptions": [self._describe(name, kind) for name, kind in _ITEM.findall(text)]}
        return {}

    def _props(self, text: str) -> list[JSON]:
        speakers: set[str] = set()
        found: dict[str, JSON] = {}
        scene = 0
        for line in text.splitlines():
            if m := _SCENE.match(line):
                scene = int(m.group(1))
                continue
            if line.startswith("Speakers:"):
                speakers |= {s.strip().upper() for s in line[9:].split(",")}
                continue
            if line.startswith("- ") and ": " in line:  # the parser's known list: "- character: Mara"
                speakers.add(line.split(": ", 1)[1].split(" (")[0].upper())
                continue
            if not scene:
                continue
            for word in _CAPS.findall(line):
                if (
                    len(word) < 4
                    or word in _SKIP
                    or word in speakers
                    or any(word in s.split() for s in speakers)
                ):
                    continue
                entry = found.setdefault(
                    word,
                    {
                        "name": word.title(),
                        "type": "prop",
                        "aliases": [],
                        "scene_numbers": [],
                        "mentions": [],
                    },
                )
                if scene not in entry["scene_numbers"]:
                    entry["scene_numbers"].append(scene)
                    entry["mentions"].append({"scene_number": scene, "quote": line.strip()[:200]})
        return list(found.values())

    def _describe(self, name: str, kind: str) -> JSON:
        text = (
            self.describe_text(name, kind)
            if self.describe_text
            else f"{name} is a {kind.replace('_', ' ')} drawn from the script. "
            "It is shown plainly in full view. Its colours and materials follow the evidence given."
        )
        return {
            "name": name,
            "description": text,
            "confidence": 0.8,
            "priority": kind == "character",
            "conflicts": [],
        }
