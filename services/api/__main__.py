"""``python -m services.api``: serve the API with uvicorn on the configured host and port."""

import uvicorn

from shared.config import get_settings

if __name__ == "__main__":
    s = get_settings()
    uvicorn.run(
        "services.api.main:app",
        host=s.api_host,
        port=s.api_port,
        proxy_headers=True,
        log_config=None,
        timeout_graceful_shutdown=s.shutdown_grace_s,
    )
