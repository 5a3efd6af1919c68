"""Blueprints, one module per resource."""

from __future__ import annotations


def register(api, app) -> None:
    from api.api_docs import docs_blueprint
    from api.pages import pages_blueprint
    from api.routes import (
        admin,
        definitions,
        deployments,
        health,
        incidents,
        instances,
        login,
        me,
        messages,
        metrics,
        migrations,
        notifications,
        reports,
        task_admin,
        tasks,
        timers,
        traces,
        webhooks,
    )

    for mod in (
        health,
        login,
        me,
        deployments,
        definitions,
        instances,
        tasks,
        task_admin,
        timers,
        incidents,
        admin,
        traces,
        reports,
        notifications,
        webhooks,
        metrics,
        migrations,
        messages,
    ):
        api.register_blueprint(mod.blp)
    app.register_blueprint(docs_blueprint())  # /api/docs, from files this service serves
    app.register_blueprint(pages_blueprint())
