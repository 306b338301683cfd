"""The layers contract (``[tool.importlinter]`` in pyproject.toml) holds on this tree.

CI runs ``lint-imports`` too (``.ci/checks``); this test makes a developer's test run catch an
import that points up (a domain importing ``server.api``, ``web`` importing ``worker``) before a
push does. Its failure prints the offending import chain.
"""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_imports_point_down_the_layers(capsys):
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 broken" in report
