"""A hung test fails with a traceback and never stalls the run (tests/timeouts.py, pyproject)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BODY_HANGS = """
import asyncio

async def test_body_hangs():
    await asyncio.Event().wait()

async def test_after_the_hang():
    pass
"""

TEARDOWNS_HANG = """
import asyncio
import pytest

@pytest.fixture
async def first_stuck_teardown():
    yield
    await asyncio.Event().wait()

@pytest.fixture
async def second_stuck_teardown():
    yield
    await asyncio.Event().wait()

async def test_two_teardowns_hang(first_stuck_teardown, second_stuck_teardown):
    pass
"""


def run_pytest(tmp_path: Path, source: str, *options: str) -> str:
    """Run ``source`` as a test file with the project's settings and ``options``; its output."""
    (tmp_path / "test_hanging.py").write_text(source)
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "tests.timeouts"]
    command += ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), *options]
    # Without CI's PYTEST_ADDOPTS (coverage): this inner run measures nothing.
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_ADDOPTS"}
    run = subprocess.run(
        [*command, str(tmp_path / "test_hanging.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def test_a_hung_async_test_fails_with_the_await_that_hung_and_the_run_goes_on(tmp_path):
    output = run_pytest(tmp_path, BODY_HANGS, "-o", "timeout=4")
    assert "test_body_hangs FAILED" in output, output
    assert "the test body did not finish within 3.2 s" in output, output
    assert "await asyncio.Event().wait()" in output, output
    assert "test_after_the_hang PASSED" in output, output


def test_teardowns_that_hang_after_the_signal_end_the_run_with_every_stack(tmp_path):
    # pytest-timeout's signal fails the first teardown (reported at the end, which never comes);
    # faulthandler prints every thread's stack and ends the process during the second.
    output = run_pytest(tmp_path, TEARDOWNS_HANG, "-o", "timeout=1", "-o", "faulthandler_timeout=1.5")
    assert "test_two_teardowns_hang PASSED" in output, output
    assert "Timeout (0:00:01.5" in output and "in teardown_exact" in output, output
