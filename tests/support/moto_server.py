"""A real S3 protocol endpoint for tests: moto's server on loopback, in a background thread.

Tests talk to it over HTTP with the real boto3 code path (signing, retries, pagination), unlike
``mock_aws`` which patches botocore in-process. Use it from any test package's conftest::

    from tests.support.moto_server import moto_s3_endpoint  # noqa: F401

then take ``moto_s3_endpoint`` (the endpoint URL) in a test or fixture, and give every test its
own bucket (``unique_bucket_name()``) so tests stay independent without resetting moto.

Note: moto keeps its state in process-global backends, shared with any ``mock_aws`` in the same
process; a ``mock_aws`` reset would also empty this server.
"""

from __future__ import annotations

import http.client
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# moto accepts any credentials; these are obviously fake so nothing could ever sign a real request.
FAKE_ACCESS_KEY_ID = "testing-access-key"
FAKE_SECRET_ACCESS_KEY = "testing-secret-key"
FAKE_REGION = "us-east-1"

_HOST = "127.0.0.1"
_STARTUP_TIMEOUT_S = 10.0


class MotoServer:
    """moto's S3 server bound to 127.0.0.1 on a free port. Also a context manager."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self._endpoint_url: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("MotoServer is not running; call start() first")
        return self._endpoint_url

    def start(self) -> str:
        """Start the server, wait until it answers HTTP, and return its endpoint URL."""
        if self._endpoint_url is not None:
            return self._endpoint_url
        # Port 0: the kernel picks a free port at bind time, so there is no window in which
        # another process could take a port we probed as free.
        server = ThreadedMotoServer(ip_address=_HOST, port=0, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{int(port)}"
        try:
            _wait_until_answering(str(host), int(port))
        except BaseException:
            self.stop()
            raise
        self._endpoint_url = endpoint
        return endpoint

    def stop(self) -> None:
        """Shut the server down and join its thread. Safe to call twice."""
        server, self._server, self._endpoint_url = self._server, None, None
        if server is not None:
            server.stop()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_moto_server() -> tuple[str, Callable[[], None]]:
    """Start a moto S3 server on loopback; return its endpoint URL and a function that stops it."""
    server = MotoServer()
    return server.start(), server.stop


def unique_bucket_name(prefix: str = "test") -> str:
    """A fresh valid bucket name (lowercase, <= 63 chars), so each test owns its bucket."""
    return f"{prefix}-{uuid.uuid4().hex}"[:63]


def make_s3_client(endpoint_url: str) -> S3Client:
    """A boto3 client for the moto server with fake credentials; never the real AWS."""
    if not endpoint_url.startswith(f"http://{_HOST}:"):
        raise ValueError(f"refusing a non-loopback S3 endpoint in tests: {endpoint_url}")
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=FAKE_REGION,
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        # proxies={}: an HTTP(S)_PROXY in the environment must not route loopback traffic away.
        config=Config(s3={"addressing_style": "path"}, proxies={}, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def moto_s3_endpoint() -> Iterator[str]:
    """Endpoint URL of a moto S3 server running for the whole test session."""
    with pytest.MonkeyPatch.context() as mp:
        # Any boto3 client built without explicit credentials (e.g. settings with none) gets fake
        # ones instead of a developer's real profile; loopback bypasses any configured proxy.
        mp.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
        mp.setenv("AWS_DEFAULT_REGION", FAKE_REGION)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.delenv("AWS_PROFILE", raising=False)
        for var in ("NO_PROXY", "no_proxy"):
            mp.setenv(var, ",".join(filter(None, [os.environ.get(var, ""), _HOST, "localhost"])))
        # werkzeug logs every request at INFO; it drowns failing tests' output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        with MotoServer() as endpoint:
            yield endpoint


def _wait_until_answering(host: str, port: int) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while True:
        # http.client rather than urllib: it never consults proxy settings.
        conn = http.client.HTTPConnection(host, port, timeout=1)
        try:
            conn.request("GET", "/moto-api/")
            conn.getresponse().read()
            return  # any HTTP answer means the server is serving
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            conn.close()
