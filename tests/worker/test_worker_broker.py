"""The broker and actors are set up deliberately, not with Dramatiq's defaults."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Retries, TimeLimit

from server.config import Settings
from server.syncs import queue
from server.worker.broker import build_broker, install_broker
from server.worker.main import run_worker
from tests.conftest import REDIS_URL, require_service


def test_the_embedded_default_uses_the_stub_broker_with_deliberate_limits(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, sync_time_limit_seconds=7200, sync_max_retries=2)

    broker = install_broker(settings)

    assert isinstance(broker, StubBroker)
    assert queue.current_broker() is broker
    actor = broker.get_actor(queue.ACTOR_NAME)
    assert actor.queue_name == queue.QUEUE_NAME
    assert actor.options["time_limit"] == 7_200_000  # not Dramatiq's 10 minutes
    assert actor.options["max_retries"] == 2  # not Dramatiq's 20
    kinds = {type(m): m for m in broker.middleware}
    assert AsyncIO in kinds
    assert kinds[TimeLimit].time_limit == 7_200_000
    assert kinds[Retries].max_retries == 2


def test_a_redis_url_selects_the_redis_broker(tmp_path) -> None:
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")

    broker = build_broker(Settings(data_dir=tmp_path, redis_url=REDIS_URL))

    assert isinstance(broker, RedisBroker)
    broker.close()


def test_weir_worker_without_redis_explains_the_embedded_default(tmp_path, capsys) -> None:
    assert run_worker(Settings(data_dir=tmp_path), processes=1, threads=1) == 2
    assert "WEIR_REDIS_URL" in capsys.readouterr().err
