"""Sending a run to the workers: a Dramatiq message naming the run, on the broker of this process.

Services send by actor name, so they never import the worker. The process installs its broker
at start-up (``server.worker.broker.install_broker``); sending before that is a programming
error, not a silent fallback to Dramatiq's default RabbitMQ broker.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq import Broker

from server.events import sync_redis_client

log = logging.getLogger("weir.queue")

QUEUE_NAME = "weir-syncs"
REDIS_NAMESPACE = "weir"
ACTOR_NAME = "run_sync"

_broker: Broker | None = None


def use_broker(broker: Broker | None) -> None:
    """Make ``broker`` the one this process sends runs to."""
    global _broker
    _broker = broker


def current_broker() -> Broker:
    if _broker is None:
        raise RuntimeError("no task broker installed in this process (install_broker first)")
    return _broker


def enqueue_run(run_id: str, *, delay_seconds: float | None = None) -> None:
    """Ask a worker to execute run ``run_id`` (now, or after ``delay_seconds``)."""
    message = dramatiq.Message(
        queue_name=QUEUE_NAME, actor_name=ACTOR_NAME, args=(run_id,), kwargs={}, options={}
    )
    delay = int(delay_seconds * 1000) if delay_seconds else None
    current_broker().enqueue(message, delay=delay)


def send_run(run_id: str, *, delay_seconds: float | None = None) -> bool:
    """``enqueue_run`` for a run already committed QUEUED: when the broker is unreachable
    (Redis down or frozen) log it and return False instead of raising. The run stays QUEUED and
    the queue reconciler (``schedule.reconcile_queue``) sends it again, so the caller's
    committed change is never turned into an error."""
    try:
        enqueue_run(run_id, delay_seconds=delay_seconds)
    except Exception as exc:  # whatever the broker raises, the row is the truth
        log.warning(
            "run %s is queued but its message was not sent (%s: %s); the queue reconciler resends it",
            run_id,
            exc.__class__.__name__,
            exc,
        )
        return False
    return True


def runs_with_messages() -> set[str] | None:
    """Ids of the runs that have a message in Redis (waiting, delayed or being processed), or
    None when this process's broker cannot tell (the in-memory stub)."""
    from dramatiq.brokers.redis import RedisBroker

    broker = current_broker()
    if not isinstance(broker, RedisBroker):
        return None
    found: set[str] = set()
    # Dramatiq keeps each message's body in a hash per queue until it is acknowledged.
    for name in (QUEUE_NAME, f"{QUEUE_NAME}.DQ"):
        for body in broker.client.hvals(f"{REDIS_NAMESPACE}:{name}.msgs"):
            message = dramatiq.Message.decode(body)
            if message.actor_name == ACTOR_NAME and message.args:
                found.add(str(message.args[0]))
    return found


def claim_reconcile_pass(seconds: float) -> bool:
    """Whether this scheduler runs the queue reconciler now: one pass every ``seconds`` among
    all the schedulers sharing a Redis (``SET NX PX``), so two of them never resend the same
    runs twice. Always True on a broker without Redis (only one scheduler exists there)."""
    from dramatiq.brokers.redis import RedisBroker

    broker = current_broker()
    if not isinstance(broker, RedisBroker):
        return True
    key = f"{REDIS_NAMESPACE}:reconcile-pass"
    return bool(broker.client.set(key, "1", nx=True, px=max(1, int(seconds * 1000))))


def use_redis(redis_url: str) -> Broker:
    """Send runs through Redis from a process that runs no actors (``weir scheduler``)."""
    from dramatiq.brokers.redis import RedisBroker

    # Its own client: Dramatiq's ``url=`` builds one without timeouts (see ``REDIS_TIMEOUTS``).
    broker = RedisBroker(client=sync_redis_client(redis_url), namespace=REDIS_NAMESPACE, middleware=[])
    use_broker(broker)
    return broker
