"""Foreign ids are 404 on every Stage 8 path, unknown fields 422, and the paths are documented."""

from __future__ import annotations

import uuid

from tests.conftest import auth_for
from tests.stage8.helpers import Stage8
from tests.support.factories import create_project, put_script

PATHS = [
    ("get", "/v1/projects/{pid}/scenes/{sid}/assets"),
    ("post", "/v1/projects/{pid}/scenes/{sid}/assets"),
    ("post", "/v1/projects/{pid}/scenes/{sid}/assets/use-master"),
    ("patch", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}"),
    ("delete", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}"),
    ("get", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}/reference-chain"),
    ("put", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}/reference"),
    ("get", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}/attempts"),
    ("post", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}/attempts/{tid}/select"),
    ("delete", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}/attempts/{tid}"),
    ("post", "/v1/projects/{pid}/scenes/{sid}/assets/{iid}/attempts/{tid}/promote"),
    ("get", "/v1/projects/{pid}/stages/8/readiness"),
    ("post", "/v1/projects/{pid}/stages/8/lock"),
    ("post", "/v1/projects/{pid}/stages/8/unlock"),
]
BODIES = {
    "/assets": {"asset_id": str(uuid.uuid4())},
    "/use-master": {"instance_ids": [str(uuid.uuid4())]},
    "/{iid}": {},
    "/reference": {"attempt_id": None},
}


def body_for(method: str, path: str) -> object:
    if method not in ("post", "put", "patch"):
        return None
    return next((b for tail, b in BODIES.items() if path.endswith(tail)), None)


async def test_another_users_scene_instance_and_attempt_are_not_found(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    tid = await s8.add_image(iid)
    stranger = auth_for(s8.env.settings, uuid.uuid4())
    theirs = str((await create_project(s8.env.client, stranger))["id"])
    await put_script(s8.env.client, stranger, theirs)
    their_scene = next(
        iter((await s8.env.client.get(f"/v1/projects/{theirs}/scenes", headers=stranger)).json()["items"])
    )
    ours = {"pid": s8.pid, "sid": ids[1], "iid": iid, "tid": tid}
    for method, path in PATHS:
        # Our project with their token; their project with our scene, instance and attempt ids.
        combos = [ours, ours | {"pid": theirs}] if "{sid}" in path else [ours]
        for values in combos:
            r = await s8.env.client.request(
                method, path.format(**values), json=body_for(method, path), headers=stranger
            )
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert r.json()["error"]["code"] in ("not_found", "script_missing")
        if "{sid}" in path:  # our project, their scene
            r = await s8.env.client.request(
                method,
                path.format(**ours | {"sid": their_scene["id"]}),
                json=body_for(method, path),
                headers=s8.auth,
            )
            assert r.status_code == 404, (method, path, r.text)
    # Our own scene, an instance of another scene.
    r = await s8.env.client.get(s8.url(ids[2], iid, "/attempts"), headers=s8.auth)
    assert r.status_code == 404


async def test_unknown_fields_and_bad_values_are_422(s8: Stage8) -> None:
    mara = await s8.asset("Mara")
    ids = await s8.scene_ids()
    iid = (await s8.instance(ids[1], mara))["id"]
    cases = [
        ("patch", s8.url(ids[1], iid), {"visual_state": "x", "colour": "red"}),
        ("patch", s8.url(ids[1], iid), {"use_master_as_is": "sometimes"}),
        ("post", f"{s8.base}/scenes/{ids[1]}/assets", {"asset_id": mara, "position": 1}),
        ("post", f"{s8.base}/scenes/{ids[1]}/assets", {}),
        ("post", f"{s8.base}/scenes/{ids[1]}/assets", {"new": {"name": "Oar", "type": "boat"}}),
        ("post", f"{s8.base}/scenes/{ids[1]}/assets/use-master", {"instance_ids": []}),
        ("put", s8.url(ids[1], iid, "/reference"), {"attempt_id": "not-a-uuid"}),
        ("get", f"{s8.base}/scenes/not-a-uuid/assets", None),
    ]
    for method, url, body in cases:
        r = await s8.env.client.request(method, url, json=body, headers=s8.auth)
        assert r.status_code == 422, (method, url, body, r.text)
        assert r.json()["error"]["code"] == "validation_error"


async def test_stage8_paths_are_in_the_openapi_document(s8: Stage8) -> None:
    doc = (await s8.env.client.get("/openapi.json")).json()
    missing = [(m, p) for m, p in PATHS if m not in doc["paths"].get(p, {})]
    assert not missing
    for _, path in PATHS:
        for op in doc["paths"][path].values():
            assert {"401", "404", "422"} <= set(op["responses"])
