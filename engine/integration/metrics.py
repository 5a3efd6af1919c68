"""The figures the database knows, read at scrape time (the same answer from every process), and
the exposition of all metrics in the Prometheus text format.

Under gunicorn each worker counts its own requests and commands: with ``PROMETHEUS_MULTIPROC_DIR``
set (an empty folder, before the processes start) prometheus-client writes them to files there and
a scrape of any worker adds up all of them. Without it a scrape shows the counters of the worker
that answered (docs/INTEGRATION.md).
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import and_, func, or_, select

from engine.store.models import Incident, OutboxEvent, Timer, WebhookCursor, WebhookSubscription


class DatabaseCollector:
    def __init__(self, service):
        self.service = service

    def collect(self):
        svc = self.service
        now = svc.now()
        with svc.db.read() as s:
            due = s.scalar(select(func.count(Timer.id)).where(Timer.status == "waiting", Timer.due_at < now)) or 0
            waiting = s.scalar(select(func.count(Timer.id)).where(Timer.status == "waiting")) or 0
            oldest = s.scalar(select(func.min(Timer.due_at)).where(Timer.status == "waiting", Timer.due_at < now))
            incidents = s.scalar(select(func.count(Incident.id))) or 0
            incidents_open = s.scalar(select(func.count(Incident.id)).where(Incident.status == "open")) or 0
            outbox = s.scalar(select(func.count(OutboxEvent.id))) or 0
            dead = s.scalar(select(func.count(WebhookCursor.id)).where(WebhookCursor.status == "dead")) or 0
            backlog = [
                (sub.id, sub.name, _backlog(s, sub))
                for sub in s.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
            ]
        yield GaugeMetricFamily("siji_timers_due", "Waiting timers already due (not fired yet)", value=due)
        yield GaugeMetricFamily("siji_timers_waiting", "Waiting timers", value=waiting)
        yield GaugeMetricFamily(
            "siji_timers_oldest_due_seconds",
            "How long the oldest due timer has waited",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "siji_incidents", "Incidents recorded (failed engine steps, failed connector calls)", value=incidents
        )
        yield GaugeMetricFamily(
            "siji_incidents_open",
            "Incidents still open (not retried successfully, not marked handled)",
            value=incidents_open,
        )
        yield GaugeMetricFamily("siji_outbox_events", "Outgoing events written", value=outbox)
        yield GaugeMetricFamily("siji_webhook_dead_letters", "Cases whose webhook delivery stopped", value=dead)
        g = GaugeMetricFamily(
            "siji_outbox_backlog", "Events not yet delivered, per active subscription", labels=["subscription"]
        )
        for sub_id, name, n in backlog:
            g.add_metric([f"{sub_id}:{name}"], n)
        yield g


def _backlog(s, sub: WebhookSubscription) -> int:
    c, e = WebhookCursor, OutboxEvent
    return (
        s.scalar(
            select(func.count(e.id))
            .select_from(e)
            .outerjoin(c, and_(c.subscription_id == sub.id, c.instance_id == e.instance_id))
            .where(
                e.id > sub.start_after_id,
                e.instance_id.is_not(None),
                e.kind.in_(sub.kinds),
                or_(c.id.is_(None), e.id > c.last_event_id),
            )
        )
        or 0
    )


def render(service) -> bytes:
    """Every metric in the text format: this process's (or, in multiprocess mode, all processes')
    counters and histograms, then the database's figures."""
    # prometheus-client itself decides multiprocess mode from this variable (it is not ours).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    db = CollectorRegistry(auto_describe=False)
    db.register(DatabaseCollector(service))
    return own + generate_latest(db)
