"""The names jobs go by. Every kind is declared once, with its handler, in its domain's
``tasks.py`` (see ``shared/jobs/__init__.py``); this module only lists the names as a ``Literal`` so
that a typo in a kind is a type error, not a job nobody runs."""

from __future__ import annotations

from typing import Literal, get_args

KindName = Literal[
    "noop",
    "script.parse",
    "extract.preview",
    "extract.confirm",
    "asset.describe",
    "attempt.describe",
    "image.generate",
    "image.upload",
    "scene_image.generate",
    "scene_image.upload",
    "storage.sweep",
]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Worker = Literal["extractor", "imagegen"]

KIND_NAMES: tuple[KindName, ...] = get_args(KindName)
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
TERMINAL_STATUSES: tuple[JobStatus, ...] = ("succeeded", "failed", "cancelled")
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("queued", "running")
