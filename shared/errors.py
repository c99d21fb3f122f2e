"""Domain errors. Each carries a stable snake_case ``code`` and an HTTP status; the API renders them
as ``{"error": {"code", "message", "details"}}``. Workers use the same codes for failed jobs."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    code = "error"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details


class NotFound(AppError):
    code = "not_found"
    status = 404


class ValidationFailed(AppError):
    code = "validation_error"
    status = 422


class Conflict(AppError):
    code = "conflict"
    status = 409


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    status = 413


class UnsupportedMedia(AppError):
    code = "unsupported_image"
    status = 415


class Unauthorized(AppError):
    code = "unauthorized"
    status = 401


class UpstreamUnavailable(AppError):
    """A provider (LLM, image model) stayed unavailable after retries."""

    code = "upstream_unavailable"
    status = 503


class UpstreamInvalidOutput(AppError):
    """A provider answered, but not in the shape we asked for, even after one corrective retry."""

    code = "invalid_model_output"
    status = 502
