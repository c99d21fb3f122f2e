"""Job kinds, declared once next to the code they run.

A domain's ``tasks.py`` declares each kind with ``@job_kind``: its name, the worker that runs it,
its payload and result models and, as the decorated function, its handler. The decorator returns
the ``JobKind``, which the API passes to ``jobs.start(...)`` and workers register with arq under the
kind's own name, so grepping ``"image.generate"`` lands on the handler.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.config import Settings
from shared.jobs.kinds import KIND_NAMES, KindName, Worker
from shared.jobs.run import JobRun

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

# Every module that declares kinds. Workers and the API import them all, so a kind is known
# wherever it can be started or run.
TASK_MODULES = (
    "shared.jobs.tasks",
    "shared.scripts.tasks",
    "shared.extraction.tasks",
    "shared.attempts.tasks",
    "shared.stage8.tasks",
    "shared.storage.tasks",
)


@dataclass(frozen=True, slots=True)
class JobKind(Generic[P, R]):
    name: KindName
    worker: Worker
    payload: type[P]
    result: type[R]
    handler: Callable[[JobRun[P]], Awaitable[R]]
    timeout_s: int | None = None  # None: settings.job_timeout_s

    def queue(self, settings: Settings) -> str:
        return settings.extractor_queue if self.worker == "extractor" else settings.imagegen_queue

    def read_payload(self, raw: dict[str, Any]) -> P:
        return self.payload.model_validate(raw)

    def read_result(self, raw: dict[str, Any] | None) -> R | None:
        """The stored result through its model (None while the job has none)."""
        return None if raw is None else self.result.model_validate(raw)


_KINDS: dict[str, JobKind[Any, Any]] = {}


def job_kind(
    name: KindName,
    *,
    worker: Worker,
    payload: type[P],
    result: type[R],
    timeout_s: int | None = None,
) -> Callable[[Callable[[JobRun[P]], Awaitable[R]]], JobKind[P, R]]:
    """Declare a job kind whose handler is the decorated function."""

    def register(handler: Callable[[JobRun[P]], Awaitable[R]]) -> JobKind[P, R]:
        if name in _KINDS:
            raise RuntimeError(f"job kind {name!r} is declared twice")
        kind = JobKind(name, worker, payload, result, handler, timeout_s)
        _KINDS[name] = kind
        return kind

    return register


def load_all() -> dict[str, JobKind[Any, Any]]:
    """Import every task module and check each name in ``KindName`` has its declaration."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    missing = set(KIND_NAMES) - _KINDS.keys()
    if missing:
        raise RuntimeError(f"job kinds without a declaration: {sorted(missing)}")
    return dict(_KINDS)


def get_kind(name: str) -> JobKind[Any, Any]:
    if not _KINDS:
        load_all()
    return _KINDS[name]


def kinds_for(worker: Worker) -> list[JobKind[Any, Any]]:
    return [k for k in load_all().values() if k.worker == worker]
