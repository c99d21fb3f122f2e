"""The OpenAI Images API as an image provider (``POST {base_url}/v1/images/generations``, and
``/v1/images/edits`` when the request carries a reference image).

Plain ``httpx`` against the documented HTTP API rather than the ``openai`` SDK: two endpoints do
not justify the dependency, and the fake server in tests speaks the same wire format.

References: with ``ImageRequest.reference`` set, GPT image models get a multipart ``POST
/v1/images/edits`` whose ``image`` part is the reference (PNG, JPEG or WebP, as sniffed from its
bytes) and whose other parts are the same fields as a generation. DALL-E 3 has no edits, and DALL-E
2 edits only square RGBA PNGs used as inpainting masks, not as a likeness to keep: for those models
the reference is dropped (with a warning in the log) and the prompt alone is sent to generations.

Sizes: the API accepts only a few fixed sizes per model (see :func:`supported_sizes`); the
provider asks for the one closest in aspect ratio to the request (preferring one that covers it,
to avoid upscaling) and returns the image at that size: ``GeneratedImage.width/height`` are the
real ones, and the caller's post-processing must crop/resize to the exact size it wants.

Retries: rate limits (429), 5xx, 408/409, timeouts and connection errors are retried here with
exponential backoff, waiting exactly ``Retry-After`` when the server sends it, up to
``max_retries`` times; then the last transient :class:`ImageProviderError` is raised for the job
to defer. A ``Retry-After`` longer than ``max_retry_wait_s`` is not slept through in the worker:
it is raised at once so the job can defer by that amount. Everything else (400 incl. content
policy, 401, 403, 404, quota exhausted) is permanent: ``transient=False``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import math
import time
from typing import Any

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from shared.config import Settings
from shared.images.processing import sniff_format
from shared.images.providers.base import GeneratedImage, ImageProviderError, ImageRequest

logger = structlog.get_logger()

DEFAULT_BASE_URL = "https://api.openai.com"

# Sizes the API accepts, by model family. gpt-image-1 (and -1-mini, -1.5): square, 3:2 landscape,
# 2:3 portrait. Models not listed get these too, the family the API is moving to.
GPT_IMAGE_SIZES: tuple[tuple[int, int], ...] = ((1024, 1024), (1536, 1024), (1024, 1536))
DALL_E_3_SIZES: tuple[tuple[int, int], ...] = ((1024, 1024), (1792, 1024), (1024, 1792))
DALL_E_2_SIZES: tuple[tuple[int, int], ...] = ((256, 256), (512, 512), (1024, 1024))

TRANSIENT_CODE = "image_provider_unavailable"
REJECTED_CODE = "image_provider_rejected"
INVALID_OUTPUT_CODE = "image_provider_invalid_output"

# A 429 that no amount of waiting fixes: the account is out of credit.
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def supported_sizes(model: str) -> tuple[tuple[int, int], ...]:
    if model.startswith("dall-e-3"):
        return DALL_E_3_SIZES
    if model.startswith("dall-e-2"):
        return DALL_E_2_SIZES
    return GPT_IMAGE_SIZES


def nearest_size(model: str, width: int, height: int) -> tuple[int, int]:
    """The supported size closest in aspect ratio to ``width x height``; among equals, one that
    covers the request (downscaling keeps detail, upscaling blurs), then the closest in area."""
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid image size {width}x{height}")
    target_ratio = math.log(width / height)

    def distance(size: tuple[int, int]) -> tuple[float, int, float]:
        w, h = size
        return (
            round(abs(math.log(w / h) - target_ratio), 6),
            0 if w >= width and h >= height else 1,
            abs(math.log((w * h) / (width * height))),
        )

    return min(supported_sizes(model), key=distance)


class OpenAIImagesProvider:
    """:class:`~shared.images.providers.base.ImageProvider` over the OpenAI Images API."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        price_per_image_usd: float,
        model: str = "gpt-image-1",
        base_url: str | None = None,
        max_retries: int = 3,
        timeout_s: float = 120.0,
        quality: str | None = None,
        max_retry_wait_s: float = 30.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 20.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.price_per_image_usd = price_per_image_usd
        self.max_retries = max_retries
        self.quality = quality
        self.max_retry_wait_s = max_retry_wait_s
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s
        )
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        # Accept both conventions: "https://api.openai.com" and the SDK's "https://api.openai.com/v1".
        api = base if base.endswith("/v1") else base + "/v1"
        self._url = api + "/images/generations"
        self._edits_url = api + "/images/edits"
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0))
        self._headers = {"Authorization": f"Bearer {api_key}"}

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIImagesProvider:
        if settings.image_api_key is None:
            raise ValueError("image_api_key is required for the openai image provider")
        return cls(
            api_key=settings.image_api_key.get_secret_value(),
            price_per_image_usd=settings.image_price_per_image_usd,
            model=settings.image_model,
            base_url=settings.image_base_url,
            max_retries=settings.image_max_retries,
            timeout_s=settings.image_timeout_s,
        )

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Generate one PNG at :func:`nearest_size` of the requested size (not the exact size),
        as an edit of ``request.reference`` when it is set and the model can edit."""
        width, height = nearest_size(self.model, request.width, request.height)
        payload = self._payload(request, width, height)
        # DALL-E models cannot keep a likeness through edits (see the module docstring).
        reference = None if self.model.startswith("dall-e") else request.reference
        log = logger.bind(
            provider=self.name, model=self.model, size=payload["size"], edit=reference is not None
        )
        if request.reference is not None and reference is None:
            log.warning("image.generate.reference_dropped", reason=f"{self.model} has no reference edits")
        started = time.perf_counter()
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, ImageProviderError) and exc.transient),
            stop=self._should_stop,
            wait=self._wait_s,
            before_sleep=lambda state: log.warning(
                "image.generate.retrying",
                attempt=state.attempt_number,
                wait_s=round(state.upcoming_sleep, 3),
                error=str(state.outcome.exception()) if state.outcome else None,
            ),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    data = await (self._post_edit(payload, reference) if reference else self._post(payload))
        except ImageProviderError as exc:
            log.warning(
                "image.generate.failed",
                transient=exc.transient,
                code=exc.code,
                retry_after_s=exc.retry_after_s,
                attempts=retrying.statistics.get("attempt_number"),
                error=str(exc),
            )
            raise
        actual = _png_size(data)
        if actual is None:
            raise ImageProviderError(
                "the provider returned an image that is not a PNG", transient=False, code=INVALID_OUTPUT_CODE
            )
        log.info(
            "image.generate.succeeded",
            width=actual[0],
            height=actual[1],
            bytes=len(data),
            attempts=retrying.statistics.get("attempt_number"),
            latency_ms=round((time.perf_counter() - started) * 1000),
            cost_usd=self.price_per_image_usd,
        )
        return GeneratedImage(
            data=data,
            mime="image/png",
            width=actual[0],
            height=actual[1],
            provider=self.name,
            model=self.model,
            cost_usd=self.price_per_image_usd,
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def _payload(self, request: ImageRequest, width: int, height: int) -> dict[str, Any]:
        prompt = request.prompt
        if request.negative_prompt:
            # The API has no negative prompt; saying it in words is the documented way.
            prompt = f"{prompt}\n\nAvoid: {request.negative_prompt}"
        payload: dict[str, Any] = {"model": self.model, "prompt": prompt, "size": f"{width}x{height}", "n": 1}
        if self.model.startswith("dall-e"):
            # DALL-E answers with URLs by default; GPT image models always send base64 and refuse this field.
            payload["response_format"] = "b64_json"
        else:
            payload["output_format"] = "png"
            if self.quality:
                payload["quality"] = self.quality
        return payload

    async def _post(self, payload: dict[str, Any]) -> bytes:
        return await self._send(self._url, json=payload)

    async def _post_edit(self, payload: dict[str, Any], reference: bytes) -> bytes:
        """``POST /v1/images/edits`` as multipart/form-data: the reference in the ``image`` part (with
        its real content type: the API refuses parts it cannot identify), the rest as text fields."""
        fmt = sniff_format(reference[:16])
        if fmt is None:
            raise ImageProviderError(
                "the reference image is not PNG, JPEG or WebP", transient=False, code=REJECTED_CODE
            )
        fields = {key: str(value) for key, value in payload.items()}
        files = {"image": (f"reference.{'jpg' if fmt == 'jpeg' else fmt}", reference, f"image/{fmt}")}
        return await self._send(self._edits_url, data=fields, files=files)

    async def _send(self, url: str, **body: Any) -> bytes:
        try:
            response = await self._http.post(url, headers=self._headers, **body)
        except httpx.TimeoutException as exc:
            raise ImageProviderError(
                f"image provider timed out: {exc!r}", transient=True, code=TRANSIENT_CODE
            ) from exc
        except httpx.TransportError as exc:
            raise ImageProviderError(
                f"image provider unreachable: {exc!r}", transient=True, code=TRANSIENT_CODE
            ) from exc
        if response.status_code >= 400:
            raise _status_error(response)
        try:
            b64 = response.json()["data"][0]["b64_json"]
            return base64.b64decode(b64, validate=True)
        except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
            raise ImageProviderError(
                f"malformed image provider response: {exc!r}", transient=False, code=INVALID_OUTPUT_CODE
            ) from exc

    def _should_stop(self, state: RetryCallState) -> bool:
        if state.attempt_number > self.max_retries:
            return True
        exc = state.outcome.exception() if state.outcome else None
        # A long Retry-After is the job's to honour (it defers), not a worker slot's to sleep through.
        return isinstance(exc, ImageProviderError) and (exc.retry_after_s or 0) > self.max_retry_wait_s

    def _wait_s(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ImageProviderError) and exc.retry_after_s is not None:
            return max(exc.retry_after_s, 0.0)
        return float(self._backoff(state))


def _status_error(response: httpx.Response) -> ImageProviderError:
    status = response.status_code
    error: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
    except ValueError:
        pass
    message = str(error.get("message") or response.text[:500] or response.reason_phrase)
    upstream_code = error.get("code")
    transient = status in (408, 409, 429) or status >= 500
    if status == 429 and upstream_code in _QUOTA_CODES:
        transient = False
    return ImageProviderError(
        f"image provider returned {status} ({upstream_code or error.get('type') or 'error'}): {message}",
        transient=transient,
        code=TRANSIENT_CODE if transient else REJECTED_CODE,
        retry_after_s=_retry_after_s(response.headers) if transient else None,
    )


def _retry_after_s(headers: httpx.Headers) -> float | None:
    """``retry-after-ms``, else ``Retry-After`` as seconds or as an HTTP date."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            pass
        if name == "retry-after":
            try:
                return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the PNG header (the IHDR chunk comes first), without decoding."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
