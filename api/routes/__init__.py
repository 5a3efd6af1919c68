"""Blueprints, one module per resource."""
from __future__ import annotations


def register(api, app) -> None:
    from api.routes import (admin, definitions, deployments, health, incidents, instances, me, messages, metrics,
                            migrations, tasks, timers, webhooks)
    for mod in (health, me, deployments, definitions, instances, tasks, timers, incidents, admin, webhooks, metrics,
                migrations, messages):
        api.register_blueprint(mod.blp)
    try:
        from api.routes import traces, reports
    except ImportError:  # built in a later step
        pass
    else:
        api.register_blueprint(traces.blp)
        api.register_blueprint(reports.blp)
    try:
        from api.pages import pages_blueprint
    except ImportError:
        pass
    else:
        app.register_blueprint(pages_blueprint())
