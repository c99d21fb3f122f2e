"""A small JSON-schema instance generator for the fake model: enough for pydantic's schemas."""

from __future__ import annotations

import math
from typing import Any

JSON = dict[str, Any]


def sample_from_schema(schema: JSON, root: JSON | None = None, depth: int = 0) -> Any:
    """A small JSON-schema instance generator: enough for pydantic's schemas (``$ref``/``$defs``,
    ``anyOf``, enums, string/number bounds, arrays with one item, all object properties)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        return sample_from_schema(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample_from_schema(options[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        if depth > 12:
            return {}
        return {
            name: sample_from_schema(prop, root, depth + 1)
            for name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1) if depth <= 12 else int(schema.get("minItems", 0))
        count = min(count, int(schema.get("maxItems", count)))
        return [sample_from_schema(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "string":
        return _sample_string(schema)
    if kind in ("integer", "number"):
        return _sample_number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "sample"


def _sample_string(schema: JSON) -> str:
    formats = {
        "date-time": "2024-01-01T00:00:00Z",
        "date": "2024-01-01",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "email": "someone@example.com",
        "uri": "https://example.com/",
    }
    text = formats.get(str(schema.get("format")), "sample")
    min_length, max_length = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text.ljust(min_length, "x")
    return text[: int(max_length)] if max_length is not None else text


def _sample_number(schema: JSON, *, integer: bool) -> int | float:
    low: float | None = schema.get("minimum")
    high: float | None = schema.get("maximum")
    if low is None and "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integer else 1e-6)
    if high is None and "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - (1 if integer else 1e-6)
    if low is not None and high is not None:
        value = low if integer else (low + high) / 2
    elif low is not None:
        value = low
    elif high is not None:
        value = min(high, 1)
    else:
        value = 1
    return math.ceil(value) if integer else float(value)
