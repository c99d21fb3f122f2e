"""The OpenAPI document is the contract with the frontend: every route documented, with a response
model and the error shape."""

from __future__ import annotations

import httpx

CONTRACT = [
    ("post", "/v1/projects"),
    ("get", "/v1/projects"),
    ("get", "/v1/projects/{pid}"),
    ("patch", "/v1/projects/{pid}"),
    ("delete", "/v1/projects/{pid}"),
    ("get", "/v1/style-capsules"),
    ("post", "/v1/style-capsules"),
    ("put", "/v1/projects/{pid}/style"),
    ("put", "/v1/projects/{pid}/script"),
    ("get", "/v1/projects/{pid}/script"),
    ("get", "/v1/projects/{pid}/scenes"),
    ("post", "/v1/projects/{pid}/extract/preview"),
    ("get", "/v1/projects/{pid}/extract/preview"),
    ("post", "/v1/projects/{pid}/extract/confirm"),
    ("get", "/v1/projects/{pid}/assets"),
    ("post", "/v1/projects/{pid}/assets"),
    ("get", "/v1/projects/{pid}/assets/{aid}"),
    ("patch", "/v1/projects/{pid}/assets/{aid}"),
    ("delete", "/v1/projects/{pid}/assets/{aid}"),
    ("post", "/v1/projects/{pid}/assets/{aid}/defer"),
    ("post", "/v1/projects/{pid}/assets/{aid}/restore"),
    ("post", "/v1/projects/{pid}/assets/merge"),
    ("post", "/v1/projects/{pid}/assets/{aid}/promote"),
    ("post", "/v1/projects/{pid}/assets/clone"),
    ("post", "/v1/projects/{pid}/stages/5/lock"),
    ("post", "/v1/projects/{pid}/stages/5/unlock"),
    ("get", "/v1/projects/{pid}/costs"),
    ("get", "/v1/jobs/{jid}"),
    ("post", "/v1/jobs/{jid}/cancel"),
    ("get", "/v1/jobs/{jid}/events"),
    ("get", "/v1/library"),
    ("delete", "/v1/library/{gid}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
]


async def test_contract_paths_exist_with_models_and_errors(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    missing = [(m, p) for m, p in CONTRACT if m not in paths.get(p, {})]
    assert not missing
    assert "ErrorBody" in doc["components"]["schemas"]
    for path, ops in paths.items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            # Errors are documented where the route can answer them, in the one error shape.
            if path.startswith("/v1/") and path != "/v1/files/{key}":
                assert "401" in codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path, codes)
            for code in codes - {"200", "201", "202", "204", "503"}:
                error = op["responses"][code]["content"]["application/json"]["schema"]
                assert error["$ref"].endswith("/ErrorBody"), (method, path, code)
    assert (await client.get("/docs")).status_code == 200
