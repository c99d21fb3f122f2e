"""``python -m services.imagegen``: one imagegen worker process."""

from services.imagegen.worker import worker_options
from shared.jobs.worker import run

run(worker_options())
