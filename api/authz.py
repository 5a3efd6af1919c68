"""Who may call what: the authorization matrix (endpoint × role), as data.

The matrix is enforced before any view runs (``api/app.py`` ``_gate``); the row-level rules
(whose task, whose case) live in the core (``engine/service/visibility.py``) and are used by every
query that lists or fetches rows. Rows a caller may not see answer 404, never 403, so ids cannot
be probed.
"""

from __future__ import annotations

from engine import roles

DEPARTMENT_ROLES = roles.DEPARTMENT_ROLES
TASK_ROLES = roles.TASK_ROLES
ALL_ROLES = frozenset(r.code for r in roles.ROLES)
PUBLIC = "public"

# endpoint name → roles that may call it (row rules then narrow what each sees).
MATRIX: dict[str, frozenset[str] | str] = {
    "health.health": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "apidocs.docs": PUBLIC,
    "apidocs.init_js": PUBLIC,
    "apidocs.static": PUBLIC,
    "pages.static_page": PUBLIC,
    "pages.asset": PUBLIC,
    "me.whoami": ALL_ROLES,
    # the view checks the password itself (and locks after repeated failures)
    "login.login": PUBLIC,
    "login.logout": ALL_ROLES,
    "deployments.deploy": frozenset({"analyst"}),
    "definitions.list_definitions": ALL_ROLES,
    "definitions.get_definition": ALL_ROLES,
    "definitions.get_xml": frozenset({"analyst", "auditor", "admin"}) | TASK_ROLES,
    "definitions.get_resource": frozenset({"analyst", "auditor", "admin"}),
    "definitions.get_carry_over": TASK_ROLES | {"auditor", "admin"},
    "instances.start": frozenset({"applicant", "commissioner"}),
    "instances.list_instances": TASK_ROLES | {"auditor", "admin"},
    "instances.get_instance": TASK_ROLES | {"auditor", "admin"},
    "tasks.list_tasks": TASK_ROLES | {"auditor", "admin"},
    "tasks.get_task": TASK_ROLES | {"auditor", "admin"},
    "tasks.claim": TASK_ROLES,
    "tasks.unclaim": TASK_ROLES,
    "tasks.complete": TASK_ROLES,
    "notifications.list_notifications": TASK_ROLES,
    "notifications.mark_read": TASK_ROLES,
    "task_admin.reassign": frozenset({"dept_supervisor"}),
    "task_admin.release": frozenset({"dept_supervisor"}),
    "task_admin.delegate": TASK_ROLES,
    "task_admin.candidates": TASK_ROLES | {"dept_supervisor"},
    "task_admin.add_comment": TASK_ROLES,
    "task_admin.list_comments": TASK_ROLES | {"auditor", "admin"},
    "timers.list_timers": frozenset({"auditor", "admin", "leading_group_office"}),
    "incidents.list_incidents": frozenset({"auditor", "admin", "analyst"}),
    "incidents.retry_incident": frozenset({"admin"}),
    "incidents.resolve_incident": frozenset({"admin"}),
    "traces.instance_trace": TASK_ROLES | {"auditor", "admin"},
    "traces.verify_trace": frozenset({"auditor", "admin"}),
    "traces.export_traces": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.departments": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.flows": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.overdue": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.ledger": frozenset({"auditor", "admin", "leading_group_office", "economic_dev", "commissioner_office"}),
    "admin.get_clock": frozenset({"admin", "auditor"}),
    "admin.advance_clock": frozenset({"admin"}),
    "admin.list_users": frozenset({"admin"}),
    # the view function is create_user_endpoint (renamed after registration, so Flask's endpoint
    # keeps the original name)
    "admin.create_user_endpoint": frozenset({"admin"}),
    "admin.update_user_endpoint": frozenset({"admin"}),
    "admin.revoke_token": frozenset({"admin"}),
    "admin.load_calendar": frozenset({"admin"}),
    "webhooks.list_subscriptions": frozenset({"admin"}),
    "webhooks.create_subscription": frozenset({"admin"}),
    "webhooks.delete_subscription": frozenset({"admin"}),
    "webhooks.rewind_subscription": frozenset({"admin"}),
    "webhooks.list_dead_letters": frozenset({"admin"}),
    "webhooks.replay_dead_letters": frozenset({"admin"}),
    "migrations.migration_dry_run": frozenset({"analyst", "admin"}),
    "migrations.migrate_cases": frozenset({"admin"}),
    # a department's system (with a department account) or an admin sends messages to waiting cases
    "messages.send_message": DEPARTMENT_ROLES | {"admin"},
    # scraped by Prometheus with a token of a monitoring user (admin or auditor)
    "metrics.metrics": frozenset({"admin", "auditor"}),
}


# endpoint → the row rule that narrows what an allowed caller sees or acts on (docs/SECURITY.md).
_TASK_ROWS = "tasks: own department's unreserved tasks, tasks reserved for or claimed by the caller; others 404"
_CASE_ROWS = (
    "cases: started by or for the caller, its paired enterprises' (commissioner), "
    "or holding a task of the caller's department; leading_group_office (supervision) "
    "sees every case; others 404"
)
ROW_RULES: dict[str, str] = {
    "instances.start": "applicant: for itself; commissioner: for a paired enterprise only (on_behalf_of)",
    "instances.list_instances": _CASE_ROWS,
    "instances.get_instance": _CASE_ROWS,
    "tasks.list_tasks": _TASK_ROWS,
    "tasks.get_task": _TASK_ROWS + " (also tasks the caller completed)",
    "tasks.claim": _TASK_ROWS + "; reserved tasks only by the reserved user",
    "tasks.unclaim": _TASK_ROWS + "; only the claimant",
    "tasks.complete": _TASK_ROWS + "; the actor is the token's user, never the body",
    "traces.instance_trace": _CASE_ROWS,
    "definitions.get_carry_over": (
        "the source case: visible to the caller ("
        + _CASE_ROWS.split(": ", 1)[1]
        + "), or the caller's department has a task in this flow (the carried "
        "fields only)"
    ),
    "notifications.list_notifications": "the caller's own and its departments' notifications",
    "notifications.mark_read": "the caller's own and its departments' notifications; others 404",
    "task_admin.reassign": (
        "only a dept_supervisor who also holds the task's department role; "
        "the receiver must hold that role; reason recorded in the trace"
    ),
    "task_admin.release": "only a dept_supervisor who also holds the task's department role; reason in the trace",
    "task_admin.delegate": _TASK_ROWS + "; only the claimant, to a member of the task's department",
    "task_admin.candidates": _TASK_ROWS,
    "task_admin.add_comment": _CASE_ROWS,
    "task_admin.list_comments": _CASE_ROWS,
    "incidents.retry_incident": (
        "connector calls and timer steps; a failed start, completion or message is redone by its sender (409)"
    ),
    "incidents.resolve_incident": "open incidents only (409 when resolved already); a note is required",
    "traces.export_traces": _CASE_ROWS,
    "admin.advance_clock": "only when SIJI_ALLOW_CLOCK_CONTROL=1 (acceptance testing)",
    "messages.send_message": "reaches only running cases that wait for the message and match the correlation",
    "admin.update_user_endpoint": "not the system user; an admin cannot remove its own admin role or deactivate itself",
    "login.logout": "revokes only the session token of the request (an API token: 422, unchanged)",
}


def allowed(endpoint: str | None, user_roles: frozenset[str] | None) -> bool | None:
    """True/False for a known endpoint; None when the endpoint is not in the matrix (refused)."""
    rule = MATRIX.get(endpoint or "")
    if rule is None:
        return None
    if rule == PUBLIC:
        return True
    return bool(user_roles and (user_roles & rule))


def is_public(endpoint: str | None) -> bool:
    return MATRIX.get(endpoint or "") == PUBLIC
