"""The layers contract (``[tool.importlinter]`` in pyproject.toml) holds on this tree.

CI runs ``lint-imports`` too (``.ci/checks``); this test makes a developer's test run catch an
import that points up (a domain importing ``server.api``, ``web`` importing ``worker``) before a
push does. Its failure prints the offending import chain.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# In a child process: import-linter configures logging with dictConfig, which would disable
# the loggers of the tests that run after this one.
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
)


def test_imports_point_down_the_layers():
    # From the repository root, so the `server` checked is this tree's.
    result = subprocess.run(
        [sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
