"""Answering with a model already built from trusted data, serialised once.

FastAPI validates a returned model against the route's ``response_model`` again before serialising
it; for lists built from our own rows that second pass costs as much as building them. Routes on hot
read paths keep ``response_model`` (for OpenAPI) and return ``json_of(model)`` instead."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi import Response
from pydantic import BaseModel


def json_of(model: BaseModel, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        model.__pydantic_serializer__.to_json(model),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def json_body(body: dict[str, Any]) -> Response:
    """A response model's fields as plain dicts, in the model's field order (uuids and datetimes as
    Python objects): serialised by pydantic-core exactly as the model would be, without building a
    model per item first. For lists built from our own rows only."""
    return Response(pydantic_core.to_json(body), media_type="application/json")


def json_page(items: list[dict[str, Any]], *, total: int, limit: int, offset: int) -> Response:
    """A ``Page`` whose items are plain dicts (see ``json_body``)."""
    return json_body({"items": items, "total": total, "limit": limit, "offset": offset})
