"""Fake upstream services (Anthropic, OpenAI Images) on loopback, speaking the real wire formats."""
