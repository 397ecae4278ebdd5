"""The Celery tasks every service has, built from its ServiceBus:

* ``<service>.handle_events``: the durable consumer of a batch of events (the relay and the sweep
  send each subscriber one message with up to ``BATCH_SIZE`` events). The batch is one
  transaction, handled together first and, if an event fails, one event per savepoint: the one
  that fails is rolled back alone and goes on as a ``handle_event`` task of its own, with its
  retries and backoff. A worker takes the batches waiting behind its own into the same
  transaction (after ``ServiceBus.batch_wait`` for a service nobody waits on).
* ``<service>.handle_event``: one event, late-acked, retried with backoff, then dead-lettered.
* ``<service>.sweep_outbox``: takes confirmations, sends what the relay left behind and what was
  not confirmed in time.
* ``<service>.link_traffic`` and ``<service>.purge_traffic``: the traffic log's hash chain takes in
  the new rows; the rows older than ``SOPDESK_TRAFFIC_LOG_DAYS`` go (``shared.traffic_log``).
"""
from __future__ import annotations

import logging
import random
import time

from shared import traffic_log
from shared.celery_app import celery
from shared.config import get_settings
from shared.messaging import BATCH_SIZE, NotReady, PermanentError, ServiceBus

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, cap: int) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 ... seconds, capped."""
    ceiling = min(cap, 2 ** attempt)
    return max(1.0, random.uniform(ceiling / 2, ceiling))


# an event that came before the one it depends on (NotReady: notify's case.opened before the
# request.submitted that names the requester, handled by the other pool process a moment later)
# is usually ready within milliseconds: its first two retries come sooner, then the usual backoff
NOT_READY_FIRST_RETRIES = (0.25, 1.0)


def retry_countdown(exc: Exception, attempt: int, cap: int) -> float:
    if isinstance(exc, NotReady) and attempt <= len(NOT_READY_FIRST_RETRIES):
        return NOT_READY_FIRST_RETRIES[attempt - 1]
    return backoff_seconds(attempt, cap)


def register_service_tasks(bus: ServiceBus):
    service = bus.service
    # the consumer's delivery promises: acknowledged only after it ran, requeued if its worker dies
    consumer = {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}

    def dead_letter(envelope, exc: Exception, attempt: int, task_name: str | None = None) -> None:
        bus.record_dead_letter(task_name or handle_event.name, envelope, f"{type(exc).__name__}: {exc}", attempt)
        if isinstance(envelope, dict):
            bus.confirm(envelope)  # the dead letter holds it now: its producer need not send it again

    def again_or_dead_letter(task, envelopes: list, exc: Exception, attempt: int, args: list):
        """Retry ``task`` with ``args`` after a backoff, or, at the last attempt, dead-letter each
        envelope (as ``handle_event``, which a replay runs)."""
        settings = get_settings()
        if attempt >= settings.max_retries:
            for envelope in envelopes:
                dead_letter(envelope, exc, attempt)
            return
        log.warning("%s (%d events) attempt %d failed: %s", task.name, len(envelopes), attempt, exc)
        raise task.retry(args=args, exc=exc, max_retries=settings.max_retries,
                         countdown=retry_countdown(exc, attempt, settings.retry_backoff_max))

    @celery.task(name=f"{service}.handle_event", **consumer)
    def handle_event(self, envelope):
        attempt = self.request.retries + 1
        try:
            bus.consume(envelope)
        except PermanentError as exc:
            dead_letter(envelope, exc, attempt)
        except Exception as exc:
            again_or_dead_letter(self, [envelope], exc, attempt, [envelope])

    @celery.task(name=f"{service}.handle_events", **consumer)
    def handle_events(self, envelopes):
        attempt = self.request.retries + 1
        if not isinstance(envelopes, list):
            dead_letter(envelopes, PermanentError("a batch must be a list of envelopes"), attempt, self.name)
            return
        if attempt == 1:  # fallen behind: what waits behind this batch goes in the same transaction
            if bus.batch_wait and len(envelopes) < BATCH_SIZE:
                time.sleep(bus.batch_wait)  # a service nobody waits on lets a few more queue up first
            envelopes = envelopes + bus.take_waiting()
        try:
            outcome = bus.consume_batch(envelopes)
        except Exception as exc:  # the batch's transaction failed (the database went away): all again,
            # with the batches it took from the queue (they are in no message but this one now)
            again_or_dead_letter(self, envelopes, exc, attempt, [envelopes])
            return
        cap = get_settings().retry_backoff_max
        for envelope, exc in outcome.failed:
            if isinstance(exc, PermanentError):
                dead_letter(envelope, exc, 1)
                continue
            # on its own from here: its first attempt was this one
            log.warning("%s attempt 1 failed: %s", handle_event.name, exc)
            try:
                celery.send_task(handle_event.name, args=[envelope], retries=1, queue=service,
                                 routing_key=service, retry=False, countdown=retry_countdown(exc, 1, cap))
            except Exception as send_error:  # the broker is down: its producer sends it again
                log.warning("could not queue the retry of %s: %s", envelope.get("id"), send_error)

    @celery.task(name=f"{service}.sweep_outbox", ignore_result=True)
    def sweep_outbox():
        return bus.sweep()

    @celery.task(name=f"{service}.link_traffic", ignore_result=True)
    def link_traffic():
        return traffic_log.link(service)

    @celery.task(name=f"{service}.purge_traffic", ignore_result=True)
    def purge_traffic():
        return traffic_log.purge(service, get_settings().traffic_log_days).rows

    return handle_event, handle_events, sweep_outbox
