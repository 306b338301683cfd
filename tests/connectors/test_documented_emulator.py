"""The documented-endpoints emulator (tests/emulators/documented.py) itself: it records what it
received, refuses a wrong credential and a missing field in the provider's shape, and rate
limits when told to."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, bearer, query


def widgets() -> DocumentedAPI:
    def create(call: Call) -> dict[str, Any]:
        return {"id": "w_1", **call.json}

    return DocumentedAPI(
        [
            Endpoint("POST", "/widgets", create, status=201, required=("name", "size.width")),
            Endpoint("GET", "/widgets/{id}", lambda call: {"id": call.path_params["id"]}),
        ],
        credentials=[bearer("good"), query("key", "k1")],
        unauthorized=(401, {"error": {"message": "bad token"}}),
        invalid=lambda missing: (422, {"errors": [{"field": m} for m in missing]}),
        prefix="/v1",
    )


async def test_a_documented_call_is_answered_and_recorded(serve_emulator: Any) -> None:
    api = widgets()
    url = await serve_emulator(api.app)
    async with httpx.AsyncClient() as client:
        sent = {"name": "a", "size": {"width": 2}}
        response = await client.post(
            f"{url}/v1/widgets?x=1&x=2", json=sent, headers={"Authorization": "Bearer good"}
        )
        assert response.status_code == 201 and response.json() == {"id": "w_1", **sent}
        call = api.last()
        assert (call.method, call.path, call.query, call.json) == (
            "POST",
            "/v1/widgets",
            {"x": ["1", "2"]},
            sent,
        )
        assert call.credential == "header:authorization" and "authorization" not in call.headers

        response = await client.get(f"{url}/v1/widgets/w%209", params={"key": "k1"})
        assert response.json() == {"id": "w 9"} and api.last().credential == "query:key"
        assert api.last().query == {}


async def test_wrong_credential_missing_field_and_rate_limit(serve_emulator: Any) -> None:
    api = widgets()
    url = await serve_emulator(api.app)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/v1/widgets", json={}, headers={"Authorization": "Bearer bad"})
        assert response.status_code == 401 and response.json() == {"error": {"message": "bad token"}}
        auth = {"Authorization": "Bearer good"}
        response = await client.post(f"{url}/v1/widgets", json={"name": "a", "size": {}}, headers=auth)
        assert response.status_code == 422 and response.json() == {"errors": [{"field": "size.width"}]}
        api.controls.rate_limit_once(retry_after=3)
        response = await client.get(f"{url}/v1/widgets/1", headers=auth)
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        api.fail_next(404, {"message": "gone"})
        response = await client.get(f"{url}/v1/widgets/1", headers=auth)
        assert response.status_code == 404 and response.json() == {"message": "gone"}
        assert (await client.get(f"{url}/v1/widgets/1", headers=auth)).json() == {"id": "1"}
        assert len(api.calls) == 5
