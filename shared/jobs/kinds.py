"""Every job kind, the worker queue it runs on, and the arq function that runs it.

The API only knows kinds; workers register the functions. Keeping the table here means a kind can't
be enqueued on a queue whose worker doesn't run it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.config import Settings

Worker = Literal["extractor", "imagegen"]


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    worker: Worker
    function: str
    timeout_s: int | None = None  # None: settings.job_timeout_s

    def queue(self, settings: Settings) -> str:
        return settings.extractor_queue if self.worker == "extractor" else settings.imagegen_queue


KINDS: dict[str, JobKind] = {
    k.name: k
    for k in (
        JobKind("script.parse", "extractor", "run_script_parse"),
        JobKind("noop", "extractor", "run_noop"),
        JobKind("extract.preview", "extractor", "run_extract_preview"),
        JobKind("extract.confirm", "extractor", "run_extract_confirm"),
        JobKind("asset.describe", "extractor", "run_asset_describe"),
        JobKind("storage.sweep", "imagegen", "run_storage_sweep"),
        JobKind("image.generate", "imagegen", "run_image_generate"),
        JobKind("image.upload", "imagegen", "run_image_upload"),
        JobKind("attempt.describe", "extractor", "run_attempt_describe"),
    )
}


def kinds_for(worker: Worker) -> list[JobKind]:
    return [k for k in KINDS.values() if k.worker == worker]
