"""The continuity paths as a contract: in OpenAPI with the camera-angle vocabulary, and another
user's project, scene or asset is a 404 on every one of them."""

from __future__ import annotations

import uuid

from shared.continuity.angles import FRAMINGS
from tests.conftest import auth_for
from tests.stage8.helpers import Stage8

PATHS = {
    "/v1/projects/{pid}/scenes/{sid}/shots": {"get", "put", "patch"},
    "/v1/projects/{pid}/scenes/{sid}/suggestions": {"get"},
    "/v1/projects/{pid}/scenes/{sid}/suggestions/{gid}/accept": {"post"},
    "/v1/projects/{pid}/scenes/{sid}/suggestions/{gid}/dismiss": {"post"},
    "/v1/projects/{pid}/scenes/{sid}/context": {"get"},
    "/v1/projects/{pid}/assets/{aid}/timeline": {"get"},
    "/v1/projects/{pid}/assets/{aid}/timeline/repair": {"post"},
    "/v1/projects/{pid}/assets/{aid}/attempts/generate-views": {"post"},
}


async def test_openapi_lists_the_paths_and_the_vocabulary(s8: Stage8) -> None:
    spec = (await s8.env.client.get("/openapi.json")).json()
    for path, methods in PATHS.items():
        assert methods <= set(spec["paths"][path]), path
    framing = spec["components"]["schemas"]["CameraAnglesPatch"]["properties"]["framing"]
    values = next(v["enum"] for v in framing["anyOf"] if "enum" in v)
    assert values == list(FRAMINGS)
    assert values[0] == "extreme wide"
    assert "three-quarter" in spec["paths"]["/v1/projects/{pid}/scenes/{sid}/shots"]["put"]["description"]


async def test_another_users_paths_are_not_found(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    stranger = auth_for(s8.env.settings, uuid.uuid4())
    gid = uuid.uuid4()
    calls: list[tuple[str, str, dict[str, object] | None]] = [
        ("GET", f"/scenes/{ids[1]}/shots", None),
        ("PUT", f"/scenes/{ids[1]}/shots", {"shots": []}),
        ("PATCH", f"/scenes/{ids[1]}/shots", {"shots": [{"number": 1, "side": "back"}]}),
        ("GET", f"/scenes/{ids[1]}/suggestions", None),
        ("POST", f"/scenes/{ids[1]}/suggestions/{gid}/accept", None),
        ("POST", f"/scenes/{ids[1]}/suggestions/{gid}/dismiss", None),
        ("GET", f"/scenes/{ids[1]}/context", None),
        ("GET", f"/assets/{mara}/timeline", None),
        ("POST", f"/assets/{mara}/timeline/repair", None),
        ("POST", f"/assets/{mara}/attempts/generate-views", None),
    ]
    for method, tail, body in calls:
        r = await s8.env.client.request(method, s8.base + tail, json=body, headers=stranger)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), (method, tail, r.text)
    # The owner still sees their things.
    r = await s8.env.client.get(f"{s8.base}/assets/{mara}/timeline", headers=s8.auth)
    assert r.status_code == 200
