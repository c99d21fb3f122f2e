"""Jobs: a row first (transactional outbox), then arq. See service.py for creation, queue.py for
enqueueing, relay.py for recovery, runner.py for the worker-side lifecycle."""
