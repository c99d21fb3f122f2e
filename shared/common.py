"""Small shapes every domain shares: pages of results, and input types bounded to their columns.

Every integer a client sends ends up compared with, or written to, an ``integer`` (int4) or
``bigint`` column; PostgreSQL refuses a value out of range with an error the API would turn into a
500. The bounded types below turn such input into a 422 before any query runs.

No FastAPI here: a plain dependency's scalar parameters are query parameters, and the ``Field``
constraints inside ``Annotated`` are validated (and documented) by FastAPI all the same."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from shared.errors import ValidationFailed

T = TypeVar("T")

INT32_MAX = 2**31 - 1
# A PostgreSQL ``integer`` column, or a count/position compared with one.
Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
PositiveInt32 = Annotated[int, Field(ge=1, le=INT32_MAX)]
NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
# Scene numbers are 1-based and stored in an ``integer`` column.
SceneNumber = PositiveInt32

# When the app's settings are not reachable (a bare call outside a request).
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200


def _page_examples(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A page of one item, the item being the first example of the parametrised item model (a bare
    ``Page[T]`` or an item model without examples gets none)."""
    args = get_args(model.model_fields["items"].annotation)
    item = args[0] if args else None
    extra = (
        item.model_config.get("json_schema_extra")
        if isinstance(item, type) and issubclass(item, BaseModel)
        else None
    )
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if isinstance(examples, list) and examples:
        schema["examples"] = [{"items": [examples[0]], "total": 1, "limit": PAGE_SIZE_DEFAULT, "offset": 0}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T] = Field(description="This page's items, in the listing's order")
    total: int = Field(description="How many items the whole listing holds, across all pages")
    limit: int = Field(description="The page size used for this page")
    offset: int = Field(description="How many items were skipped before this page")


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    request: Request,
    limit: Annotated[
        int | None,
        Field(
            ge=1,
            le=INT32_MAX,
            description="Page size: `page_size_default` if absent; `page_size_max` at most",
        ),
    ] = None,
    # OFFSET is a bigint in PostgreSQL, but no listing has more than an int32 of rows: a larger
    # offset is a client bug, told as such rather than an empty page (or an overflow).
    offset: Annotated[int, Field(ge=0, le=INT32_MAX, description="Items to skip")] = 0,
) -> PageParams:
    settings = getattr(request.app.state, "settings", None)
    default = getattr(settings, "page_size_default", PAGE_SIZE_DEFAULT)
    maximum = getattr(settings, "page_size_max", PAGE_SIZE_MAX)
    if limit is None:
        limit = default
    if limit > maximum:
        raise ValidationFailed(
            f"limit is at most {maximum}",
            details=[{"loc": ["query", "limit"], "msg": f"at most {maximum}", "type": "less_than_equal"}],
        )
    return PageParams(limit=limit, offset=offset)
