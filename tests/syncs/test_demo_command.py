"""`weir demo`: a first sync on the embedded default; run twice, it reuses what exists."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def weir_demo(directory: Path, contacts: int) -> str:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("WEIR_")}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--contacts", str(contacts)],
        cwd=directory,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_weir_demo_creates_a_sync_runs_it_and_reuses_it(tmp_path: Path) -> None:
    first = weir_demo(tmp_path, 400)
    second = weir_demo(tmp_path, 500)

    assert "(created)" in first and "SUCCEEDED" in first
    with sqlite3.connect(tmp_path / ".weir" / "weir.db") as db:
        (workspace,) = db.execute("SELECT id FROM workspaces").fetchone()
    # The shared warehouse qualifies the schema by workspace; the output names the real table.
    table = f"{workspace}__demo__contacts"
    assert table in first and "400 rows" in first
    warehouse = tmp_path / ".weir" / "warehouse.db"
    assert str(warehouse.resolve()) in first
    assert "(reused)" in second and "100 loaded by this run" in second
    with sqlite3.connect(warehouse) as db:
        assert db.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone() == (500, 500)
    with sqlite3.connect(tmp_path / ".weir" / "weir.db") as db:
        assert db.execute("SELECT count(*), max(enabled) FROM elt_syncs").fetchone() == (1, 1)
        assert db.execute("SELECT count(*) FROM connections").fetchone() == (1,)
