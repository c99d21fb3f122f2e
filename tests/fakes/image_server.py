"""A fake OpenAI Images API on loopback (``POST /v1/images/generations`` and ``/v1/images/edits``).

Checks the Bearer key and the request the way the real API does (model, prompt, a size the model
supports, GPT image models refusing ``response_format``), and answers with a real PNG of the
requested size as ``b64_json``: a light, uniform background with a dark rectangle in the middle,
so background removal downstream has something to remove. Errors use OpenAI's shape
``{"error": {"message", "type", "param", "code"}}``.

Edits take ``multipart/form-data`` as the real endpoint does: an ``image`` file part (or several
``image[]`` parts) whose declared content type must be PNG, JPEG or WebP, and the other fields as
text parts (``n`` arrives as text too). DALL-E 3 has no edits; DALL-E 2 edits only square PNGs with
an alpha channel. The answer is the first image fitted (centre crop) to the requested size, so a
test can see that the result came from the reference.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import functools
import io
import json
import math
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from PIL import Image, ImageDraw, ImageOps
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes._server import ThreadedServer

JSON = dict[str, Any]

DEFAULT_API_KEY = "test-openai-key"
BACKGROUND = (242, 240, 235)
SUBJECT = (40, 36, 48)
CONTENT_POLICY_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is "
    "not allowed by our safety system."
)
# The API's own table, kept apart from the provider's on purpose: the fake must catch a provider
# asking for a size the real API refuses.
SIZES = {
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}


# The edits endpoint's own table: DALL-E 3 is absent because it has no edits.
EDIT_SIZES = {
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
}
EDIT_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(slots=True)
class UploadedImage:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class RecordedImageRequest:
    headers: dict[str, str]  # lower-cased names
    body: JSON | None  # the JSON body, or an edit's text fields
    received_at: float  # time.monotonic()
    status: int = 0
    path: str = "/v1/images/generations"
    images: list[UploadedImage] = field(default_factory=list)  # an edit's image parts, in order


@dataclass(slots=True)
class _Failure:
    status: int
    remaining: int | None  # None: forever
    retry_after: float | None
    error: JSON


class FakeImagesServer:
    """A real HTTP server speaking the Images API; use as a context manager or start()/stop()."""

    def __init__(self, *, api_key: str = DEFAULT_API_KEY, latency_s: float = 0.0) -> None:
        self.api_key = api_key
        self.latency_s = latency_s
        self.requests: list[RecordedImageRequest] = []
        self.blocked_terms: set[str] = set()  # prompts containing one get a content-policy 400
        self._failures: collections.deque[_Failure] = collections.deque()
        self._always: _Failure | None = None
        self._lock = threading.Lock()
        self._server = ThreadedServer(
            Starlette(
                routes=[
                    Route("/v1/images/generations", self._generate, methods=["POST"]),
                    Route("/v1/images/edits", self._edit, methods=["POST"]),
                ]
            ),
            name="fake-images",
        )

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def start(self) -> FakeImagesServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeImagesServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.latency_s = 0.0
            self.requests.clear()
            self.blocked_terms.clear()
            self._failures.clear()
            self._always = None

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (queued after earlier scripts)."""
        with self._lock:
            self._failures.append(_Failure(status, times, retry_after, _error_body(status, code, message)))

    def always_fail(self, status: int, retry_after: float | None = None, code: str | None = None) -> None:
        with self._lock:
            self._always = _Failure(status, None, retry_after, _error_body(status, code, None))

    def recover(self) -> None:
        with self._lock:
            self._failures.clear()
            self._always = None

    def block_prompts_containing(self, *terms: str) -> None:
        """Make prompts containing any of ``terms`` fail the safety system (400 moderation_blocked)."""
        with self._lock:
            self.blocked_terms.update(t.lower() for t in terms)

    async def _generate(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body: JSON | None = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedImageRequest(
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
        response = await self._answer(record)
        record.status = response.status_code
        return response

    async def _edit(self, request: Request) -> JSONResponse:
        record = RecordedImageRequest(
            headers={k.lower(): v for k, v in request.headers.items()},
            body=None,
            received_at=time.monotonic(),
            path="/v1/images/edits",
        )
        with self._lock:
            self.requests.append(record)
        content_type = record.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async with request.form() as form:
                fields: JSON = {}
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        record.images.append(
                            UploadedImage(value.filename or "", value.content_type or "", await value.read())
                        )
                    else:
                        fields[key] = value
                record.body = fields
        response = await self._answer_edit(record, content_type)
        record.status = response.status_code
        return response

    async def _answer_edit(self, record: RecordedImageRequest, content_type: str) -> JSONResponse:
        refused = self._refuse(record)
        if refused is not None:
            return refused
        if not content_type.startswith("multipart/form-data") or record.body is None:
            return _error(
                400,
                "Invalid Content-Type header ("
                + (content_type or "none")
                + "), expected multipart/form-data.",
                code=None,
            )
        body = record.body
        model = str(body.get("model") or "dall-e-2")
        if model.startswith("dall-e-3"):
            return _error(
                400,
                f"Invalid model {model}. The model must be one of: dall-e-2, gpt-image-1.",
                code="invalid_value",
                param="model",
            )
        if not record.images:
            return _error(400, "Missing required parameter: 'image'.", code=None, param="image")
        for image in record.images:
            if image.content_type not in EDIT_MIME_TYPES:
                return _error(
                    400,
                    f"Invalid file 'image': unsupported mimetype ('{image.content_type}'). Supported file "
                    "formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                    code="unsupported_file_mimetype",
                    param="image",
                )
        try:
            first = await asyncio.to_thread(_decode, record.images[0].data)
        except (OSError, SyntaxError, ValueError) as exc:
            return _error(
                400, f"Invalid image file or mode for image 1: {exc}", code="invalid_image", param="image"
            )
        if model.startswith("dall-e-2") and (
            first.format != "PNG" or first.width != first.height or "A" not in first.getbands()
        ):
            return _error(
                400, "Invalid input image - must be a square RGBA PNG.", code="invalid_image", param="image"
            )
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return _error(400, "Missing required parameter: 'prompt'.", code=None, param="prompt")
        size = str(body.get("size", "auto"))
        allowed = next(
            (s for family, s in EDIT_SIZES.items() if model.startswith(family)), EDIT_SIZES["gpt-image"]
        )
        if size != "auto" and size not in allowed:
            return _error(
                400,
                f"Invalid value: '{size}'. Supported values are: {', '.join(map(repr, allowed))}.",
                code="invalid_value",
                param="size",
            )
        if not model.startswith("dall-e") and "response_format" in body:
            return _error(
                400,
                f"Unknown parameter: 'response_format' is not supported for {model}.",
                code="invalid_value",
                param="response_format",
            )
        if body.get("output_format", "png") != "png":
            return _error(400, "This fake only renders PNG.", code="invalid_value", param="output_format")
        try:
            n = int(body.get("n", "1"))
        except ValueError:
            n = 0
        if not 1 <= n <= 10:
            return _error(
                400,
                f"Invalid value: {body.get('n')!r}. 'n' must be between 1 and 10.",
                code="invalid_value",
                param="n",
            )
        if size == "auto":
            size = allowed[0]
        width, height = (int(v) for v in size.split("x"))
        png = await asyncio.to_thread(_fit_png, first, width, height)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return _image_response(png, n, width, height, str(body["prompt"]), image_count=len(record.images))

    def _refuse(self, record: RecordedImageRequest) -> JSONResponse | None:
        """The authentication check and any scripted failure, shared by both endpoints."""
        auth = record.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", code=None)
        if auth.removeprefix("Bearer ") != self.api_key:
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        failure = self._take_failure()
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["retry-after"] = str(math.ceil(failure.retry_after))
                headers["retry-after-ms"] = str(round(failure.retry_after * 1000))
            return JSONResponse({"error": failure.error}, status_code=failure.status, headers=headers)
        return None

    async def _answer(self, record: RecordedImageRequest) -> JSONResponse:
        refused = self._refuse(record)
        if refused is not None:
            return refused
        body = record.body
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body of your request.", code=None)
        problem = _invalid(body)
        if problem is not None:
            return _error(400, problem[1], code="invalid_value", param=problem[0])
        prompt = str(body["prompt"]).lower()
        if any(term in prompt for term in self.blocked_terms):
            return _error(
                400, CONTENT_POLICY_MESSAGE, code="moderation_blocked", type_="image_generation_user_error"
            )
        size = str(body.get("size", "1024x1024"))
        if size == "auto":
            size = _sizes_for(str(body.get("model") or "dall-e-2"))[0]
        width, height = (int(v) for v in size.split("x"))
        n = int(body.get("n", 1))
        png = await asyncio.to_thread(render_png, width, height)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return _image_response(png, n, width, height, prompt)

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            if self._failures:
                failure = self._failures[0]
                assert failure.remaining is not None
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.popleft()
                return failure
            return self._always


def _sizes_for(model: str) -> tuple[str, ...]:
    return next((sizes for family, sizes in SIZES.items() if model.startswith(family)), SIZES["gpt-image"])


def _invalid(body: JSON) -> tuple[str, str] | None:
    """(param, message) for a request the real API refuses."""
    model = str(body.get("model") or "dall-e-2")  # the API's default model
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return "prompt", "Missing required parameter: 'prompt'."
    size = str(body.get("size", "1024x1024"))
    allowed = _sizes_for(model)
    if size != "auto" and size not in allowed:
        return "size", f"Invalid value: '{size}'. Supported values are: {', '.join(map(repr, allowed))}."
    if not model.startswith("dall-e") and "response_format" in body:
        return "response_format", f"Unknown parameter: 'response_format' is not supported for {model}."
    if body.get("output_format", "png") != "png":
        return "output_format", "This fake only renders PNG."
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 10:
        return "n", f"Invalid value: {n!r}. 'n' must be between 1 and 10."
    return None


@functools.lru_cache(maxsize=16)
def render_png(width: int, height: int) -> bytes:
    """A light uniform background with a dark rectangle over the middle half of each side."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    ImageDraw.Draw(image).rectangle(
        (width // 4, height // 4, width - width // 4 - 1, height - height // 4 - 1), fill=SUBJECT
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _image_response(
    png: bytes, n: int, width: int, height: int, prompt: str, *, image_count: int = 0
) -> JSONResponse:
    b64 = base64.b64encode(png).decode()
    text_tokens = math.ceil(len(prompt) / 4)
    image_tokens = 323 * image_count  # what the API bills for an input image at low fidelity
    return JSONResponse(
        {
            "created": int(time.time()),
            "data": [{"b64_json": b64} for _ in range(n)],
            "output_format": "png",
            "size": f"{width}x{height}",
            "usage": {
                "total_tokens": text_tokens + image_tokens + 4160 * n,
                "input_tokens": text_tokens + image_tokens,
                "output_tokens": 4160 * n,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            },
        },
        headers={"x-request-id": f"req_{time.monotonic_ns():x}"},
    )


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        loaded = img.copy()
        loaded.format = img.format
        return loaded


def _fit_png(image: Image.Image, width: int, height: int) -> bytes:
    """The edit's answer: the input image centre-cropped and resized to the output size, on the
    fake's usual light background where it was transparent."""
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    buffer = io.BytesIO()
    ImageOps.fit(flat, (width, height), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    return buffer.getvalue()


def _error_body(status: int, code: str | None, message: str | None) -> JSON:
    if status == 400 and code in ("moderation_blocked", "content_policy_violation"):
        return {
            "message": message or CONTENT_POLICY_MESSAGE,
            "type": "image_generation_user_error",
            "param": None,
            "code": code,
        }
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"message": message or f"fake {kind} ({status})", "type": kind, "param": None, "code": code}


def _error(
    status: int,
    message: str,
    *,
    code: str | None,
    param: str | None = None,
    type_: str = "invalid_request_error",
) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": param, "code": code}}, status_code=status
    )
