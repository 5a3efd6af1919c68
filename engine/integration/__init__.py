"""Talking to the departments' own systems: webhook delivery of the outbox (delivery.py,
subscriptions.py), service-task connectors (connectors.py, jobs.py), messages between cases
(messages.py), moving running cases to a new version (migration.py) and the database-derived
metrics (metrics.py). Above engine/service: it calls the commands, never the other way round."""
