"""The Python client's generated code is what ariadne-codegen makes of today's schema.graphql and
the operations in clients/python/operations: a schema change, an edited operation or a hand edit
of weir_client/_generated fails here until `python clients/python/generate.py` is run again.

ariadne-codegen needs graphql-core 3.2 and the server 3.3, so the generator runs in its own
environment: WEIR_CODEGEN_PYTHON names its interpreter, else one is built once under
~/.cache/weir (``pip install ariadne-codegen==<pinned>``)."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from tests.clients.conftest import CLIENT_ROOT

ROOT = CLIENT_ROOT.parents[1]
GENERATED = CLIENT_ROOT / "weir_client" / "_generated"


def _operations() -> str:
    return "\n".join(path.read_text() for path in sorted((CLIENT_ROOT / "operations").glob("*.graphql")))


def test_every_operation_is_valid_against_the_current_schema():
    schema = build_schema((ROOT / "schema.graphql").read_text())
    document = parse(_operations())
    assert validate(schema, document) == []
    names = [d.name.value for d in document.definitions if d.kind == "operation_definition"]
    assert len(names) == len(set(names)) >= 15


def _codegen_python() -> str:
    if configured := os.environ.get("WEIR_CODEGEN_PYTHON"):
        return configured
    pinned = next(
        spec
        for spec in tomllib.loads((CLIENT_ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]["codegen"]
        if spec.startswith("ariadne-codegen")
    )
    venv = Path.home() / ".cache" / "weir" / f"codegen-{pinned.replace('==', '-')}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", pinned], check=True, timeout=240)
    return str(python)


def _differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [f"only committed: {name}" for name in compared.left_only]
    found += [f"only generated: {name}" for name in compared.right_only]
    found += [
        f"differs: {name}"
        for name in compared.common_files
        if (left / name).read_bytes() != (right / name).read_bytes()
    ]
    return sorted(found)


@pytest.mark.timeout(300)
def test_the_committed_client_is_what_the_generator_makes(tmp_path: Path):
    python = _codegen_python()
    subprocess.run(
        [python, str(CLIENT_ROOT / "generate.py"), str(tmp_path)], check=True, timeout=120, cwd=tmp_path
    )
    assert _differences(GENERATED, tmp_path / "_generated") == [], (
        "clients/python/weir_client/_generated is stale: run `python clients/python/generate.py` "
        "with ariadne-codegen installed (clients/python[codegen])"
    )


def test_the_drift_check_notices_an_edit(tmp_path: Path):
    # The comparison itself: a changed byte and a missing file are both found.
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in GENERATED.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    assert _differences(GENERATED, copy) == []
    (copy / "client.py").write_bytes((copy / "client.py").read_bytes() + b"\n")
    (copy / "enums.py").unlink()
    assert _differences(GENERATED, copy) == ["differs: client.py", "only committed: enums.py"]


def test_the_hand_written_part_is_typed_strictly():
    # What the host imports is typed (py.typed); the facade over the generated code checks clean.
    files = ["__init__.py", "_clients.py", "_errors.py"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-incremental",
            "--config-file",
            str(CLIENT_ROOT / "pyproject.toml"),
            *(str(CLIENT_ROOT / "weir_client" / name) for name in files),
        ],
        capture_output=True,
        text=True,
        cwd=CLIENT_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (CLIENT_ROOT / "weir_client" / "py.typed").exists()
