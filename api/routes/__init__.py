"""Blueprints, one module per resource."""
from __future__ import annotations


def register(api, app) -> None:
    from api.routes import (admin, definitions, deployments, health, incidents, instances, me, task_admin, tasks,
                            timers)
    for mod in (health, me, deployments, definitions, instances, tasks, task_admin, timers, incidents, admin):
        api.register_blueprint(mod.blp)
    try:
        from api.routes import traces, reports
    except ImportError:  # built in a later step
        pass
    else:
        api.register_blueprint(traces.blp)
        api.register_blueprint(reports.blp)
    from api.api_docs import docs_blueprint   # /api/docs, from files this service serves
    app.register_blueprint(docs_blueprint())
    try:
        from api.pages import pages_blueprint
    except ImportError:
        pass
    else:
        app.register_blueprint(pages_blueprint())
