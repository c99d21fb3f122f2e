"""Operator commands: ``python -m shared.cli token [--sub UUID]`` prints a dev token."""

from __future__ import annotations

import argparse
import sys
import uuid

from shared.auth import make_token
from shared.config import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="filmassets")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="print a signed JWT for local use")
    tok.add_argument("--sub", type=uuid.UUID, default=None, help="user id (random when omitted)")
    tok.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="seconds until it expires")
    args = parser.parse_args(argv)
    if args.command == "token":
        sys.stdout.write(make_token(get_settings(), sub=args.sub or uuid.uuid4(), ttl_s=args.ttl) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
