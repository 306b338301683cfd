"""examples/mcp-agent/agent.py against a live Weir: alice and bob each see only their own
accounts (alice's PostgreSQL connection, their own key-value stores)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

AGENT = Path(__file__).resolve().parents[2] / "examples" / "mcp-agent" / "agent.py"


async def test_the_scripted_agent_sees_each_end_users_own_accounts(
    tenant: Any, live_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "PGHOST": "127.0.0.1",
        "PGPORT": "5432",
        "PGDATABASE": "test",
        "PGUSER": "postgres",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEIR_API_KEY", tenant.key)
    spec = importlib.util.spec_from_file_location("mcp_agent_example", AGENT)
    assert spec is not None and spec.loader is not None
    agent = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agent)
    monkeypatch.setattr(agent, "WEIR_URL", f"http://{live_server}")
    await agent.main()
    lines = capsys.readouterr().out.splitlines()
    seen = {line.split(" sees: ")[0]: line.split(" sees: ")[1] for line in lines if " sees: " in line}
    assert seen == {
        "alice": "kv_store.get, kv_store.put, postgres.list_tables, postgres.query",
        "bob": "kv_store.get, kv_store.put",
    }
    calls = [line.strip() for line in lines if " calls " in line]
    assert calls[0].startswith("alice calls postgres.query: ok") and '[["test"]]' in calls[0]
    assert calls[1].startswith("alice calls kv_store.put: ok")
    assert calls[2].startswith("alice calls kv_store.get: ok") and "alice's note" in calls[2]
    assert calls[3].startswith("bob calls postgres.query: error") and "CONNECTION_REQUIRED" in calls[3]
    assert "/connect?token=" in calls[3]
    assert calls[4].startswith("bob calls kv_store.get: ok") and '"found": false' in calls[4]
