from __future__ import annotations

from flask_smorest import Blueprint

from engine import roles

from api.schemas import WhoAmISchema
from api.routes.common import actor

blp = Blueprint("me", __name__, url_prefix="/api/me", description="当前用户 / the caller")


@blp.route("")
@blp.response(200, WhoAmISchema)
def whoami():
    """当前令牌对应的用户及角色 / Who the token belongs to, and their roles."""
    me = actor()
    return {"username": me.username, "roles": sorted(me.roles),
            "role_names": {r: roles.role_name(r) for r in me.roles}}
