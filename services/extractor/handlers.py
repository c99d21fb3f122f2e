"""Every extractor job kind and the function that runs it (one registry per concern)."""

from __future__ import annotations

from services.extractor.extraction_tasks import EXTRACTION_HANDLERS
from services.extractor.image_tasks import IMAGE_HANDLERS
from services.extractor.tasks import CORE_HANDLERS
from shared.jobs.runner import Handler

HANDLERS: dict[str, Handler] = {**CORE_HANDLERS, **EXTRACTION_HANDLERS, **IMAGE_HANDLERS}
