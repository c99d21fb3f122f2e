"""The browser-facing additions are in the OpenAPI contract a TypeScript client is generated from:
the routes, the SSE event shapes under text/event-stream, the batch answer of generate-all."""

from __future__ import annotations

from typing import Any

import httpx

ROUTES = [
    ("get", "/v1/projects/{pid}/events"),
    ("post", "/v1/projects/{pid}/events/token"),
    ("post", "/v1/jobs/{jid}/events/token"),
    ("get", "/v1/projects/{pid}/jobs"),
    ("get", "/v1/batches/{bid}"),
    ("post", "/v1/batches/{bid}/cancel"),
]


def _ref(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


async def test_browser_routes_and_event_shapes_are_documented(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    assert [(m, p) for m, p in ROUTES if m not in paths.get(p, {})] == []

    project_stream = paths["/v1/projects/{pid}/events"]["get"]
    assert "Last-Event-ID" in project_stream["description"]
    assert {p["name"] for p in project_stream["parameters"]} >= {"token", "last_event_id", "Last-Event-ID"}
    content = project_stream["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    assert _ref(content["text/event-stream"]["schema"]) == "ProjectStreamEvent"
    variants = schemas["ProjectStreamEvent"]["properties"]["message"]["oneOf"]
    assert {_ref(v) for v in variants} == {
        "ProjectReadyEvent",
        "ProjectResetEvent",
        "ProjectJobEvent",
        "ProjectAttemptEvent",
    }
    assert set(schemas["AttemptEventData"]["properties"]["change"]["enum"]) == {
        "added",
        "selected",
        "deleted",
    }
    job_stream = paths["/v1/jobs/{jid}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert _ref(job_stream["schema"]) == "JobStreamEvent"

    generate_all = paths["/v1/projects/{pid}/assets/generate-all"]["post"]["responses"]
    assert _ref(generate_all["200"]["content"]["application/json"]["schema"]) == "GenerateAllOut"
    assert _ref(generate_all["202"]["content"]["application/json"]["schema"]) == "BatchEnvelope"
    batch = schemas["BatchOut"]["properties"]
    assert {"id", "kind", "status", "counts", "progress", "jobs"} <= set(batch)
    assert all(batch[f].get("description") for f in ("status", "counts", "progress"))

    for path in ("generate", "upload"):
        answer = paths[f"/v1/projects/{{pid}}/assets/{{aid}}/attempts/{path}"]["post"]["responses"]["202"]
        assert _ref(answer["content"]["application/json"]["schema"]) == "AttemptJobEnvelope"
    assert schemas["CapOutlook"]["properties"]["evicts"]["description"]
    patch = paths["/v1/projects/{pid}/assets/{aid}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"]}
    assert "412" in patch["responses"]
    assert "ETag" in patch["responses"]["200"]["headers"]
