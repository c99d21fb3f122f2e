"""Chaos runs: real workers SIGKILLed and Redis restarted while jobs run (see harness.py)."""
