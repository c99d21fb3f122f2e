"""Write the API's OpenAPI document as JSON, without a server, a database or Redis.

    python scripts/dump_openapi.py var/openapi.json     # or "-" for stdout

The TypeScript client (``make client``) is generated from this file. The app is built but never
started: ``openapi()`` only reads the routes, so nothing connects anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Run as a file (python scripts/dump_openapi.py): the repository root is not on sys.path by itself.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.api.app import create_app  # noqa: E402
from shared.config import Settings  # noqa: E402


def openapi_document() -> dict[str, object]:
    # Fixed settings, no .env and no FILMASSETS_* variables: the document (and so the committed
    # client) must not depend on whoever runs the script.
    settings = Settings(_env_file=None, environment="test", log_level="WARNING")
    return create_app(settings).openapi()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTPUT.json | -", file=sys.stderr)  # noqa: T201
        return 2
    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    if argv[1] == "-":
        sys.stdout.write(text)
    else:
        out = Path(argv[1])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
