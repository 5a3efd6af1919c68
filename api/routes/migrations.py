"""Moving running cases to another version of their process (core: engine/integration/migration.py)."""

from __future__ import annotations

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas_integration import MigrationPlanSchema, MigrationRequestSchema, MigrationResultsSchema
from engine.integration import migration

blp = Blueprint(
    "migrations",
    __name__,
    url_prefix="/api/process-definitions",
    description="运行中案件迁移到新版本 / moving running cases to a new version",
)


@blp.route("/<string:key>/migrations/dry-run", methods=["POST"])
@blp.arguments(MigrationRequestSchema)
@blp.response(200, MigrationPlanSchema)
def migration_dry_run(body, key):
    """试迁移：哪些案件可迁移，其余为何不能（不写入任何数据）/ Dry run: which running cases can move to
    the version, and why the others cannot. Nothing is written."""
    return migration.dry_run(service(), key[:100], body.get("to_version"), body.get("process_instance_ids"))


@blp.route("/<string:key>/migrations", methods=["POST"])
@blp.arguments(MigrationRequestSchema)
@blp.response(200, MigrationResultsSchema)
def migrate_cases(body, key):
    """迁移所选案件（每个案件一个事务，记入案件轨迹）/ Move the selected cases, one transaction per
    case, each recorded in the case's trace with both versions; a case that cannot move is left as
    it was and listed with its reasons."""
    return migration.migrate_cases(
        service(), actor(), key[:100], body.get("to_version"), body.get("process_instance_ids") or []
    )
