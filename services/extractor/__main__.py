"""``python -m services.extractor``: one extractor worker process."""

from services.extractor.worker import worker_options
from shared.jobs.worker import run

run(worker_options())
