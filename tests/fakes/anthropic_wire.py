"""Messages API request rules and token counting, as the fake Anthropic server applies them.

Token counts are an approximation with the real API's structure: ``ceil(len(text) / 4)`` per
block, tool definitions and tool inputs counted as their JSON, images as ``w * h / 750`` after the
API's downscaling. Blocks come in the API's prefix order (tools -> system -> messages), which is
the order prompt caching hashes them in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from PIL import Image, UnidentifiedImageError

JSON = dict[str, Any]

MAX_CACHE_BREAKPOINTS = 4
IMAGE_FALLBACK_TOKENS = 1500
TTL_S = {"5m": 300.0, "1h": 3600.0}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class BadRequest(Exception):
    """A request the real API would refuse with 400 invalid_request_error."""


def tokens_of(text: str) -> int:
    return math.ceil(len(text) / 4)


def validate(body: JSON) -> tuple[str, int]:
    model, max_tokens, messages = body.get("model"), body.get("max_tokens"), body.get("messages")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: Field required")
    if not isinstance(max_tokens, int) or max_tokens < 0:
        raise BadRequest("max_tokens: Field required")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: at least one message is required")
    tools = body.get("tools") or []
    names = set()
    for tool in tools:
        name = tool.get("name", "")
        if not _TOOL_NAME.match(name):
            raise BadRequest(f"tools.name: String should match pattern '{_TOOL_NAME.pattern}'")
        if (tool.get("input_schema") or {}).get("type") != "object":
            raise BadRequest(f"tools.{name}.input_schema.type: Input should be 'object'")
        names.add(name)
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool" and choice.get("name") not in names:
        raise BadRequest(f"tool_choice: tool {choice.get('name')!r} not found in tools")
    _check_tool_pairing(messages)
    return model, max_tokens


def _check_tool_pairing(messages: list[JSON]) -> None:
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            raise BadRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if message["role"] != "assistant":
            continue
        ids = {b["id"] for b in content_blocks(message) if b.get("type") == "tool_use"}
        if not ids:
            continue
        following = messages[i + 1] if i + 1 < len(messages) else None
        answered = (
            {b.get("tool_use_id") for b in content_blocks(following) if b.get("type") == "tool_result"}
            if following is not None and following.get("role") == "user"
            else set()
        )
        if i + 1 < len(messages) and not ids <= answered:
            raise BadRequest(
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                f"after: {', '.join(sorted(ids - answered))}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
    for i, message in enumerate(messages):
        if message["role"] != "user":
            continue
        previous = messages[i - 1] if i > 0 else None
        known = (
            {b["id"] for b in content_blocks(previous) if b.get("type") == "tool_use"} if previous else set()
        )
        for b in content_blocks(message):
            if b.get("type") == "tool_result" and b.get("tool_use_id") not in known:
                raise BadRequest(
                    f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{b.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )


def content_blocks(message: JSON) -> list[JSON]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def ttl_of(cache_control: Any) -> float | None:
    if not isinstance(cache_control, dict) or cache_control.get("type") != "ephemeral":
        return None
    return TTL_S.get(cache_control.get("ttl", "5m"), TTL_S["5m"])


def prompt_blocks(body: JSON) -> Iterator[tuple[str, int, float | None]]:
    """(hash material, tokens, breakpoint TTL or None) per block, in the API's prefix order."""
    for tool in body.get("tools") or []:
        ttl = ttl_of(tool.get("cache_control"))
        text = json.dumps({k: v for k, v in tool.items() if k != "cache_control"}, sort_keys=True)
        yield "tool:" + text, tokens_of(text), ttl
    system = body.get("system")
    if isinstance(system, str):
        yield "system:" + system, tokens_of(system), None
    elif isinstance(system, list):
        for block in system:
            text = str(block.get("text", ""))
            yield "system:" + text, tokens_of(text), ttl_of(block.get("cache_control"))
    for message in body.get("messages") or []:
        role = message.get("role", "")
        for block in content_blocks(message):
            material, tokens = _block_tokens(block)
            yield f"{role}:{material}", tokens, ttl_of(block.get("cache_control"))


def _block_tokens(block: JSON) -> tuple[str, int]:
    kind = block.get("type")
    if kind == "text":
        text = str(block.get("text", ""))
        return "text:" + text, tokens_of(text)
    if kind == "image":
        source = block.get("source") or {}
        data = str(source.get("data") or source.get("url") or "")
        return "image:" + hashlib.sha256(data.encode()).hexdigest(), image_tokens(source)
    if kind == "tool_use":
        text = json.dumps({"name": block.get("name"), "input": block.get("input")}, sort_keys=True)
        return "tool_use:" + text, tokens_of(text)
    if kind == "tool_result":
        content = block.get("content", "")
        parts = content_blocks({"content": content})
        materials, tokens = zip(*(_block_tokens(p) for p in parts), strict=True) if parts else ((), ())
        return "tool_result:" + json.dumps([block.get("is_error", False), *materials]), sum(tokens)
    text = json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)
    return f"{kind}:{text}", tokens_of(text)


def image_tokens(source: Mapping[str, Any]) -> int:
    """``w * h / 750`` after the API's downscaling (long edge 1568 px, about 1.15 MP)."""
    if source.get("type") != "base64":
        return IMAGE_FALLBACK_TOKENS
    try:
        with Image.open(io.BytesIO(base64.b64decode(source.get("data", ""), validate=True))) as image:
            width, height = image.size  # header only: Pillow decodes pixels lazily
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        return IMAGE_FALLBACK_TOKENS
    scale = min(1.0, 1568 / max(width, height), math.sqrt(1_150_000 / (width * height)))
    return max(1, math.ceil(width * scale * height * scale / 750))
