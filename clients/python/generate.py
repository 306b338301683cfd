"""Regenerate ``weir_client/_generated`` from ``schema.graphql`` and ``operations/*.graphql``.

    python clients/python/generate.py            # rewrite the committed package
    python clients/python/generate.py OUT_DIR    # write it into OUT_DIR/_generated instead

ariadne-codegen writes one client per run, sync or async; it runs twice and the two share the
same models (the async run adds ``async_client.py`` and ``async_base_client.py``).
tests/clients/test_python_client.py regenerates into a temporary folder and fails on a difference.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from ariadne_codegen.main import client as generate_client

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent.parent / "schema.graphql"
OPERATIONS = HERE / "operations"
PACKAGE = "_generated"
ASYNC_ONLY = ("async_client.py", "async_base_client.py")


def _run(target: Path, *, is_async: bool) -> Path:
    section = {
        "schema_path": str(SCHEMA),
        "queries_path": str(OPERATIONS),
        "target_package_name": PACKAGE,
        "target_package_path": str(target),
        "async_client": is_async,
        "client_name": "AsyncGraphQLClient" if is_async else "GraphQLClient",
        "client_file_name": "async_client" if is_async else "client",
        "include_comments": "none",
        # One module-level name per operation is enough; every input and enum is still typed.
        "include_all_inputs": False,
        "include_all_enums": False,
        "scalars": {
            "DateTime": {"type": "datetime.datetime"},
            "JSON": {"type": "typing.Any"},
        },
    }
    target.mkdir(parents=True)
    generate_client({"tool": {"ariadne-codegen": section}})
    return target / PACKAGE


def generate(out_dir: Path) -> Path:
    """Write the package into ``out_dir/_generated`` (replacing it) and return its path."""
    with tempfile.TemporaryDirectory() as scratch:
        sync_dir = _run(Path(scratch) / "sync", is_async=False)
        async_dir = _run(Path(scratch) / "async", is_async=True)
        for name in ASYNC_ONLY:
            shutil.copy(async_dir / name, sync_dir / name)
        sync_init = (sync_dir / "__init__.py").read_text()
        async_init = (async_dir / "__init__.py").read_text()
        (sync_dir / "__init__.py").write_text(_merge_init(sync_init, async_init))
        destination = out_dir / PACKAGE
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(sync_dir, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def _merge_init(sync_init: str, async_init: str) -> str:
    """The sync run's ``__init__`` plus the async client's two imports and names."""
    lines = sync_init.splitlines()
    imports = [line for line in async_init.splitlines() if line.startswith("from .async_")]
    names = [f'    "{name}",' for name in ("AsyncBaseClient", "AsyncGraphQLClient")]
    at = next(i for i, line in enumerate(lines) if line.startswith("from "))
    lines[at:at] = imports
    end = lines.index("__all__ = [") + 1
    lines[end:end] = names
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "weir_client")
