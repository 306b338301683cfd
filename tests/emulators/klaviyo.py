"""Klaviyo's API (JSON:API, revision-dated) for the catalog's actions: ``POST /api/profiles/``
(201 with ``data``; a duplicate identifier is 409 ``duplicate_profile``) and ``POST /api/events/``
(202 with no body), behind ``Authorization: Klaviyo-API-Key <key>`` and a required ``revision``
header, with Klaviyo's JSON:API error bodies
(https://developers.klaviyo.com/en/reference/create_profile, https://developers.klaviyo.com/en/reference/create_event)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

KEY = "pk_WeirEmulatorKlaviyoKey000000000001"


def _errors(
    status: int, code: str, title: str, detail: str, pointer: str = "/data/attributes"
) -> dict[str, Any]:
    return {
        "errors": [
            {
                "id": "weir-emulator-01",
                "status": status,
                "code": code,
                "title": title,
                "detail": detail,
                "source": {"pointer": pointer},
            }
        ]
    }


class KlaviyoEmulator:
    def __init__(self) -> None:
        self.profiles: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "POST", "/profiles/", self._create_profile, status=201, required=("data.attributes",)
                ),
                Endpoint(
                    "POST",
                    "/events/",
                    self._create_event,
                    status=202,
                    required=(
                        "data.attributes.metric.data.attributes.name",
                        "data.attributes.profile.data.attributes",
                    ),
                ),
            ],
            credentials=[header("authorization", f"Klaviyo-API-Key {KEY}")],
            unauthorized=(
                401,
                _errors(
                    401,
                    "not_authenticated",
                    "Authentication credentials were not provided.",
                    "Missing or invalid private key.",
                    "/data/",
                ),
            ),
            invalid=lambda missing: (
                400,
                _errors(
                    400,
                    "invalid",
                    "Invalid input.",
                    f"'{missing[0].rsplit('.', 1)[-1]}' is a required field.",
                    "/" + missing[0].replace(".", "/"),
                ),
            ),
            rate_limited=_errors(
                429,
                "throttled",
                "Request was throttled.",
                "Request was throttled. Expected available in 1 second.",
            ),
            prefix="/api",
        )
        self.app = self.api.app

    def _revision(self, call: Call) -> Reply | None:
        if not call.headers.get("revision"):
            return Reply(
                400, _errors(400, "invalid", "Invalid input.", "A revision header is required.", "/")
            )
        return None

    def _create_profile(self, call: Call) -> dict[str, Any] | Reply:
        refused = self._revision(call)
        if refused is not None:
            return refused
        attributes = call.json["data"]["attributes"]
        for profile in self.profiles:
            if any(
                attributes.get(k) and profile["attributes"].get(k) == attributes[k]
                for k in ("email", "phone_number", "external_id")
            ):
                return Reply(
                    409,
                    _errors(
                        409,
                        "duplicate_profile",
                        "Conflict.",
                        "A profile already exists with one of these identifiers.",
                    ),
                )
        profile_id = f"01JWEIREMULATOR{len(self.profiles) + 1:011d}"
        profile = {
            "type": "profile",
            "id": profile_id,
            "attributes": {
                **attributes,
                "created": "2025-01-01T10:00:00+00:00",
                "updated": "2025-01-01T10:00:00+00:00",
            },
            "links": {"self": f"https://a.klaviyo.com/api/profiles/{profile_id}/"},
        }
        self.profiles.append(profile)
        return {"data": profile}

    def _create_event(self, call: Call) -> Reply | None:
        refused = self._revision(call)
        if refused is not None:
            return refused
        self.events.append(call.json["data"]["attributes"])
        return None
