"""HMAC-signed, expiring URLs for the local storage backend.

S3 presigns its own URLs; a local directory has no such thing, so the API serves the files itself
and this signer stands in for the bearer token a browser's ``<img src>`` cannot send.
"""

from __future__ import annotations

import hmac
import time


class UrlSigner:
    """Signs ``(key, expiry)`` pairs with HMAC-SHA256 and checks them in constant time."""

    def __init__(self, secret: str) -> None:
        if not secret:
            # An empty key would make every signature forgeable by anyone who reads this file.
            raise ValueError("a signing secret is required")
        self._secret = secret.encode()

    def sign(self, key: str, expires_in: int, now: float | None = None) -> tuple[int, str]:
        """Return ``(exp, sig)``: a unix expiry ``expires_in`` seconds from ``now`` and its signature."""
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        exp = int(time.time() if now is None else now) + expires_in
        return exp, self._digest(key, exp)

    def verify(self, key: str, exp: int, sig: str, now: float | None = None) -> bool:
        """True when ``sig`` was made by :meth:`sign` for this key and ``exp`` is still ahead."""
        current = time.time() if now is None else now
        if exp <= current:
            return False
        # compare_digest on str only accepts ASCII; a non-ASCII sig cannot be ours anyway.
        if not sig.isascii():
            return False
        return hmac.compare_digest(self._digest(key, exp), sig)

    def _digest(self, key: str, exp: int) -> str:
        # exp is an int and comes last, so the newline cannot make two (key, exp) pairs collide.
        message = f"{key}\n{exp}".encode()
        # hmac.digest is OpenSSL's one-shot HMAC: same bytes as hmac.new(...).hexdigest(), a
        # fraction of the cost, and a list page signs two URLs per image.
        return hmac.digest(self._secret, message, "sha256").hex()
