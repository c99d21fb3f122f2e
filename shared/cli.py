"""Operator commands: ``python -m shared.cli token [--sub UUID]`` prints a dev token;
``dbname`` and ``base-url`` print what the settings resolve to (used by ``scripts/dev.sh``)."""

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
    sub.add_parser("dbname", help="print the database name FILMASSETS_DATABASE_URL names")
    sub.add_parser("base-url", help="print the public base URL of the API")
    args = parser.parse_args(argv)
    if args.command == "dbname":
        sys.stdout.write(get_settings().database_name + "\n")
    elif args.command == "base-url":
        sys.stdout.write(get_settings().public_base_url + "\n")
    elif args.command == "token":
        sys.stdout.write(make_token(get_settings(), sub=args.sub or uuid.uuid4(), ttl_s=args.ttl) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
