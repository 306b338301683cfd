"""A SIGKILLed worker's messages come back within the stale window, with the broker settings of
``server.worker.broker`` (heartbeat timeout, maintenance chance) and the worker's prefetch of one
message per thread: with Dramatiq's defaults they waited about five minutes.

Two real processes on a Redis of the test's own: a victim worker whose one thread takes a run
and never finishes it, then is killed; and a rescuer worker that records every run id it gets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scaleout.cluster import ROOT, OwnRedis

pytestmark = [pytest.mark.scaleout, pytest.mark.timeout(120)]

STALE_SECONDS = 20  # the heartbeat timeout is a quarter of it, at least 5 s

WORKER = """
import json, sys, threading, time
import dramatiq
from dramatiq import Worker
from server.config import Settings
from server.syncs import queue
from server.worker.broker import build_broker
from server.worker.main import EmbeddedWorker

role, redis_url, stale, log = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
settings = Settings(redis_url=redis_url, run_stale_seconds=int(stale))
broker = build_broker(settings)
dramatiq.set_broker(broker)
queue.use_broker(broker)

def run_sync(run_id):
    with open(log, "a") as out:
        out.write(json.dumps({"role": role, "run": run_id, "at": time.time()}) + "\\n")
    if role == "victim":
        time.sleep(3600)  # holds its thread until it is killed

dramatiq.actor(broker=broker, actor_name=queue.ACTOR_NAME, queue_name=queue.QUEUE_NAME)(run_sync)
worker = Worker(broker, worker_threads=1, worker_timeout=1000)
worker.queue_prefetch = 1  # what EmbeddedWorker sets: one message per thread
worker.start()
print("ready", flush=True)
threading.Event().wait()
"""


def start_worker(role: str, redis: OwnRedis, log: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, role, redis.url, str(STALE_SECONDS), str(log)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def entries(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_a_killed_workers_messages_are_resent_within_the_stale_window(tmp_path: Path) -> None:
    from server.config import Settings
    from server.syncs import queue
    from server.worker.broker import build_broker, heartbeat_timeout_ms

    redis = OwnRedis(tmp_path)
    redis.start()
    log = tmp_path / "runs.jsonl"
    processes: list[subprocess.Popen[str]] = []
    previous = queue._broker
    try:
        sender = build_broker(Settings(redis_url=redis.url, run_stale_seconds=STALE_SECONDS))
        queue.use_broker(sender)
        victim = start_worker("victim", redis, log)
        processes.append(victim)
        for number in range(3):
            queue.enqueue_run(f"run_{number}")
        deadline = time.monotonic() + 20
        while not entries(log) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [entry["run"] for entry in entries(log)] == ["run_0"]  # one thread, one message
        time.sleep(1.5)  # long enough for a prefetch beyond its thread to have happened
        victim.kill()
        victim.wait(10)
        killed = time.monotonic()
        processes.append(start_worker("rescuer", redis, log))

        deadline = killed + STALE_SECONDS
        rescued: set[object] = set()
        while time.monotonic() < deadline and rescued != {"run_0", "run_1", "run_2"}:
            rescued = {entry["run"] for entry in entries(log) if entry["role"] == "rescuer"}
            time.sleep(0.2)
        resent = [float(e["at"]) for e in entries(log) if e["role"] == "rescuer" and e["run"] == "run_0"]
        assert resent, f"the killed worker's message was not resent within {STALE_SECONDS} s"
        held_back = resent[0] - (time.time() - (time.monotonic() - killed))
        print(
            f"the killed worker's message was resent {held_back:.1f} s after the kill "
            f"(heartbeat timeout {heartbeat_timeout_ms(Settings(run_stale_seconds=STALE_SECONDS)) / 1000:.0f} s, "
            f"stale window {STALE_SECONDS} s)"
        )
        # The waiting runs were never held by the victim; the one it held comes back in time.
        assert rescued == {"run_0", "run_1", "run_2"}
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        queue.use_broker(previous)
        redis.stop()
