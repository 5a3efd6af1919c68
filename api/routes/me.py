from __future__ import annotations

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas import WhoAmISchema
from engine import roles
from engine.service.users import display_names

blp = Blueprint("me", __name__, url_prefix="/api/me", description="当前用户 / the caller")


@blp.route("")
@blp.response(200, WhoAmISchema)
def whoami():
    """当前令牌对应的用户、显示名及角色；`notifications`：是否接收站内通知（持有办件角色）/
    Who the token belongs to, the display name, the roles; `notifications`: whether the caller
    receives in-app notifications (holds a role that owns tasks)."""
    me = actor()
    with service().db.read() as s:
        name = display_names(s, [me.id]).get(me.id) or me.username
    return {
        "username": me.username,
        "display_name": name,
        "roles": sorted(me.roles),
        "role_names": {r: roles.role_name(r) for r in me.roles},
        "notifications": bool(me.roles & roles.TASK_ROLES),
        "departments": [{"code": r.code, "name": r.name_zh} for r in roles.ROLES if r.code in roles.DEPARTMENT_ROLES],
    }
