"""OpenAIImagesProvider against the fake OpenAI Images server on loopback."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from shared.config import Settings
from shared.images.providers.base import ImageProviderError, ImageRequest
from shared.images.providers.factory import build_image_provider
from shared.images.providers.openai_images import OpenAIImagesProvider, nearest_size
from tests.fakes.image_server import BACKGROUND, SUBJECT, FakeImagesServer

pytest_plugins = ["tests.fakes.fixtures"]

PRICE = 0.04


def make_provider(fake: FakeImagesServer, **overrides: Any) -> OpenAIImagesProvider:
    options: dict[str, Any] = {
        "api_key": fake.api_key,
        "base_url": fake.base_url,
        "price_per_image_usd": PRICE,
        "max_retries": 2,
        "backoff_initial_s": 0.01,  # keep the test fast; the backoff shape is tenacity's
        "backoff_max_s": 0.05,
        **overrides,
    }
    return OpenAIImagesProvider(**options)


@pytest.fixture
async def provider(fake_images: FakeImagesServer) -> AsyncIterator[OpenAIImagesProvider]:
    provider = make_provider(fake_images)
    yield provider
    await provider.aclose()


def character_request(prompt: str = "Mara, a lighthouse keeper, full body") -> ImageRequest:
    return ImageRequest(prompt=prompt, width=683, height=1024)  # 2:3 portrait


@pytest.mark.parametrize(
    ("model", "requested", "expected"),
    [
        ("gpt-image-1", (683, 1024), (1024, 1536)),  # character / extra 2:3
        ("gpt-image-1", (1024, 1024), (1024, 1024)),  # prop 1:1
        ("gpt-image-1", (1920, 1080), (1536, 1024)),  # location 16:9
        ("gpt-image-1", (1080, 1920), (1024, 1536)),  # location 9:16
        ("gpt-image-1", (2350, 1000), (1536, 1024)),  # location 2.35:1
        ("gpt-image-1", (1024, 768), (1536, 1024)),  # location 4:3
        ("dall-e-3", (1920, 1080), (1792, 1024)),
        ("dall-e-2", (300, 300), (512, 512)),  # the smallest size that covers the request
    ],
)
def test_nearest_supported_size(model: str, requested: tuple[int, int], expected: tuple[int, int]) -> None:
    assert nearest_size(model, *requested) == expected


async def test_generates_a_png_at_the_mapped_size(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    image = await provider.generate(character_request())

    assert image.mime == "image/png"
    assert (image.width, image.height) == (1024, 1536)
    assert (image.provider, image.model, image.cost_usd) == ("openai", "gpt-image-1", PRICE)
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == (1024, 1536)
        assert decoded.getpixel((5, 5)) == BACKGROUND
        assert decoded.getpixel((512, 768)) == SUBJECT
    [request] = fake_images.requests
    assert request.headers["authorization"] == f"Bearer {fake_images.api_key}"
    assert request.body == {
        "model": "gpt-image-1",
        "prompt": "Mara, a lighthouse keeper, full body",
        "size": "1024x1536",
        "n": 1,
        "output_format": "png",
    }


async def test_negative_prompt_is_said_in_words(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    await provider.generate(
        ImageRequest(prompt="A brass lantern", width=512, height=512, negative_prompt="text")
    )

    assert fake_images.requests[0].body is not None
    assert fake_images.requests[0].body["prompt"] == "A brass lantern\n\nAvoid: text"


async def test_rate_limit_waits_retry_after_then_succeeds(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    fake_images.fail_next(429, retry_after=0.3)

    image = await provider.generate(character_request())

    assert image.width == 1024
    first, second = fake_images.requests
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.received_at >= 0.28  # Retry-After, not the 10 ms backoff


async def test_content_policy_rejection_is_permanent(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    fake_images.block_prompts_containing("gore")

    with pytest.raises(ImageProviderError) as raised:
        await provider.generate(character_request("Mara covered in gore"))

    assert raised.value.transient is False
    assert raised.value.code == "image_provider_rejected"
    assert "moderation_blocked" in str(raised.value)
    assert "safety system" in str(raised.value)
    assert len(fake_images.requests) == 1  # never retried


async def test_wrong_key_is_permanent(fake_images: FakeImagesServer) -> None:
    provider = make_provider(fake_images, api_key="sk-wrong")
    try:
        with pytest.raises(ImageProviderError) as raised:
            await provider.generate(character_request())
    finally:
        await provider.aclose()

    assert raised.value.transient is False
    assert raised.value.code == "image_provider_rejected"
    assert len(fake_images.requests) == 1


async def test_exhausted_quota_is_permanent_even_as_429(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    fake_images.fail_next(429, code="insufficient_quota", message="You exceeded your current quota.")

    with pytest.raises(ImageProviderError) as raised:
        await provider.generate(character_request())

    assert raised.value.transient is False
    assert len(fake_images.requests) == 1


async def test_upstream_down_is_transient_after_retries(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    fake_images.always_fail(503, retry_after=0.05)

    with pytest.raises(ImageProviderError) as raised:
        await provider.generate(character_request())

    assert raised.value.transient is True
    assert raised.value.code == "image_provider_unavailable"
    assert raised.value.retry_after_s == pytest.approx(0.05)
    assert len(fake_images.requests) == 3  # first try + max_retries=2


async def test_long_retry_after_is_left_to_the_job(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    fake_images.fail_next(429, retry_after=120)

    with pytest.raises(ImageProviderError) as raised:
        await provider.generate(character_request())

    assert raised.value.transient is True
    assert raised.value.retry_after_s == pytest.approx(120)
    assert len(fake_images.requests) == 1  # not slept through in the worker


async def test_timeout_is_transient(fake_images: FakeImagesServer) -> None:
    fake_images.latency_s = 1.0
    provider = make_provider(fake_images, timeout_s=0.2, max_retries=0)
    try:
        with pytest.raises(ImageProviderError) as raised:
            await provider.generate(character_request())
    finally:
        await provider.aclose()

    assert raised.value.transient is True
    assert "timed out" in str(raised.value)


async def test_dall_e_asks_for_base64_and_base_url_may_end_in_v1(fake_images: FakeImagesServer) -> None:
    provider = make_provider(fake_images, model="dall-e-3", base_url=f"{fake_images.base_url}/v1")
    try:
        image = await provider.generate(ImageRequest(prompt="A harbour at dawn", width=1920, height=1080))
    finally:
        await provider.aclose()

    assert (image.width, image.height) == (1792, 1024)
    assert fake_images.requests[0].body is not None
    assert fake_images.requests[0].body["response_format"] == "b64_json"
    assert "output_format" not in fake_images.requests[0].body


async def test_factory_builds_the_openai_provider_from_settings(fake_images: FakeImagesServer) -> None:
    settings = Settings(
        image_provider="openai",
        image_api_key=SecretStr(fake_images.api_key),
        image_base_url=fake_images.base_url,
        image_price_per_image_usd=0.07,
    )
    provider = build_image_provider(settings)
    try:
        image = await provider.generate(ImageRequest(prompt="A brass lantern", width=1024, height=1024))
    finally:
        await provider.aclose()

    assert isinstance(provider, OpenAIImagesProvider)
    assert image.cost_usd == 0.07
    assert len(fake_images.requests) == 1


def test_factory_builds_the_offline_provider() -> None:
    offline = pytest.importorskip("shared.images.providers.offline")

    provider = build_image_provider(Settings(image_provider="offline"))

    assert isinstance(provider, offline.OfflineImageProvider)


def reference_image(fmt: str = "PNG") -> bytes:
    """A 2:3 reference: red top half, blue bottom half, so a fitted copy is easy to recognise."""
    image = Image.new("RGB", (400, 600), (200, 30, 30))
    image.paste((30, 30, 200), (0, 300, 400, 600))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


async def test_reference_is_sent_to_edits_as_multipart(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    ref = reference_image()
    image = await provider.generate(
        ImageRequest(
            prompt="Mara, soaked by rain", width=683, height=1024, negative_prompt="text", reference=ref
        )
    )

    [request] = fake_images.requests
    assert request.path == "/v1/images/edits"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.headers["authorization"] == f"Bearer {fake_images.api_key}"
    # Every field a text part, as the real API reads them; the reference as the ``image`` file part.
    assert request.body == {
        "model": "gpt-image-1",
        "prompt": "Mara, soaked by rain\n\nAvoid: text",
        "size": "1024x1536",
        "n": "1",
        "output_format": "png",
    }
    [part] = request.images
    assert (part.content_type, part.data) == ("image/png", ref)
    # The answer derives from the reference: red above, blue below, at the mapped size.
    assert (image.width, image.height, image.cost_usd) == (1024, 1536, PRICE)
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.getpixel((512, 300)) == (200, 30, 30)
        assert decoded.getpixel((512, 1200)) == (30, 30, 200)


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
async def test_reference_part_carries_its_real_content_type(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer, fmt: str, mime: str
) -> None:
    await provider.generate(
        ImageRequest(prompt="A lantern, lit", width=1024, height=1024, reference=reference_image(fmt))
    )

    [request] = fake_images.requests
    assert (request.status, request.images[0].content_type) == (200, mime)


async def test_edits_are_retried_like_generations(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    fake_images.fail_next(503)

    await provider.generate(
        ImageRequest(prompt="A lantern", width=1024, height=1024, reference=reference_image())
    )

    assert [(r.path, r.status) for r in fake_images.requests] == [
        ("/v1/images/edits", 503),
        ("/v1/images/edits", 200),
    ]
    assert fake_images.requests[1].images[0].data == reference_image()  # the file is sent again


async def test_unreadable_reference_is_permanent_and_never_sent(
    provider: OpenAIImagesProvider, fake_images: FakeImagesServer
) -> None:
    with pytest.raises(ImageProviderError) as raised:
        await provider.generate(
            ImageRequest(prompt="A lantern", width=1024, height=1024, reference=b"GIF89a...")
        )

    assert raised.value.transient is False
    assert fake_images.requests == []


async def test_dall_e_3_cannot_edit_so_the_prompt_alone_is_generated(fake_images: FakeImagesServer) -> None:
    provider = make_provider(fake_images, model="dall-e-3")
    try:
        await provider.generate(
            ImageRequest(prompt="A harbour", width=1024, height=1024, reference=reference_image())
        )
    finally:
        await provider.aclose()

    [request] = fake_images.requests
    assert (request.path, request.status, request.images) == ("/v1/images/generations", 200, [])


async def test_fake_edits_endpoint_refuses_what_the_real_one_refuses(fake_images: FakeImagesServer) -> None:
    """The fake holds the provider to the wire format: parts it cannot identify, JSON, DALL-E 3."""
    auth = {"Authorization": f"Bearer {fake_images.api_key}"}
    url = f"{fake_images.base_url}/v1/images/edits"
    fields = {"model": "gpt-image-1", "prompt": "A lantern", "size": "1024x1024"}
    async with httpx.AsyncClient() as client:
        untyped = await client.post(
            url,
            headers=auth,
            data=fields,
            files={"image": ("ref", reference_image(), "application/octet-stream")},
        )
        as_json = await client.post(url, headers=auth, json={**fields, "image": "aGVsbG8="})
        dalle3 = await client.post(
            url,
            headers=auth,
            data={**fields, "model": "dall-e-3"},
            files={"image": ("ref.png", reference_image(), "image/png")},
        )
    assert (untyped.status_code, untyped.json()["error"]["code"]) == (400, "unsupported_file_mimetype")
    assert as_json.status_code == 400
    assert "multipart/form-data" in as_json.json()["error"]["message"]
    assert (dalle3.status_code, dalle3.json()["error"]["param"]) == (400, "model")
