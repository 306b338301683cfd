"""submitCredentials checks what the end user typed with the provider: a connect session has a
budget of such checks a minute, so a page (or a script holding its token) retrying in a loop is
RATE_LIMITED instead of making Weir call the provider again and again."""

from __future__ import annotations

import pytest

from server.config import Settings
from tests.connect.conftest import SUBMIT, create_session


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    return settings.replace(checks_per_minute=2)


async def test_a_connect_session_is_rate_limited_after_its_budget_of_checks(acme):
    created = await create_session(acme, integrationName="testkey")
    token = created["token"]

    answers = [
        await acme.graphql(
            SUBMIT, {"credentials": {"secret_text": f"sk_wrong_{n}"}, "name": "testkey"}, key=token
        )
        for n in range(3)
    ]

    codes = [a["errors"][0]["extensions"]["code"] for a in answers]
    assert codes == ["VALIDATION_FAILED", "VALIDATION_FAILED", "RATE_LIMITED"]
    assert 1 <= answers[2]["errors"][0]["extensions"]["retryAfter"] <= 60
    assert "connect session" in answers[2]["errors"][0]["message"]
    # Another session (another end user) has its own budget.
    other = await create_session(acme, integrationName="testkey")
    accepted = await acme.graphql(
        SUBMIT, {"credentials": {"secret_text": "sk_good"}, "name": "testkey"}, key=other["token"]
    )
    assert accepted["data"]["submitCredentials"]["status"] == "COMPLETED"
