"""Form data a command takes: validated on the server against the step's form-js schema, with
the option lists (commissioners, catalogue items, departments) the form may draw from."""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import roles
from engine.forms.compile import compile_form
from engine.forms.messages import FormValidationError
from engine.service.errors import Invalid
from engine.store.models import User, UserRole
from engine.workflow.runtime import ProcessVersion


def options(session: Session, pv: ProcessVersion | None) -> dict[str, list[dict]]:
    commissioners = session.execute(
        select(User.username, User.display_name)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "commissioner", User.active.is_(True))
        .order_by(User.username)
    ).all()
    catalogue = ((pv.resources.get("catalogue") or {}).get("items") or []) if pv else []
    return {
        "commissioner_options": [{"label": d or u, "value": u} for u, d in commissioners],
        "catalogue_options": [{"label": i.get("name", i["code"]), "value": i["code"]} for i in catalogue],
        "department_options": [
            {"label": r.name_zh, "value": r.code}
            for r in roles.ROLES
            if r.department and r.code not in ("applicant", "leading_group_office")
        ],
    }


def validate(session: Session, pv: ProcessVersion, form: dict | None, data: Any) -> dict:
    """The clean data of a submission, or Invalid naming every field at fault."""
    if form is None:
        if data:
            raise Invalid(
                "此步骤没有表单，不接受数据",
                "this step has no form and takes no data",
                {k: ["未知字段 / unknown field"] for k in (data if isinstance(data, dict) else {"data": 1})},
            )
        return {}
    compiled = compiled_form(json.dumps(form, sort_keys=True))
    opts = options(session, pv) if compiled.values_keys else None
    try:
        return compiled.validate(data, opts)
    except FormValidationError as e:
        raise Invalid("表单数据有误", "invalid form data", e.errors) from None


@functools.lru_cache(maxsize=2000)
def compiled_form(form_json: str):
    return compile_form(json.loads(form_json))
