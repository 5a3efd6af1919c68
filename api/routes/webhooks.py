"""Webhook subscriptions, dead letters and replays (admin). The core is engine/integration."""

from __future__ import annotations

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas_integration import (
    CountSchema,
    DeadLetterListSchema,
    DeadLetterQuery,
    ReplayDeadSchema,
    RewindSchema,
    SubscriptionListSchema,
    SubscriptionNewSchema,
    SubscriptionSchema,
)
from engine.integration import subscriptions

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/webhooks",
    description="对外事件推送（订阅、死信、重放）/ outgoing events: subscriptions, dead letters, replay",
)


@blp.route("/subscriptions")
@blp.response(200, SubscriptionListSchema)
def list_subscriptions():
    """订阅列表 / Subscriptions, with their delivered count and dead letters."""
    return {"items": subscriptions.listing(service())}


@blp.route("/subscriptions", methods=["POST"])
@blp.arguments(SubscriptionNewSchema)
@blp.response(201, SubscriptionSchema)
def create_subscription(body):
    """新建订阅（地址须在 SIJI_WEBHOOK_HOSTS 允许清单内；密钥只返回这一次）/ Subscribe a URL (its host
    must be on SIJI_WEBHOOK_HOSTS) to event kinds; the HMAC secret is returned this once."""
    sub, secret = subscriptions.create(service(), actor(), body["name"], body["url"], body["kinds"], body.get("secret"))
    return dict(sub, secret=secret)


@blp.route("/subscriptions/<int:subscription_id>", methods=["DELETE"])
@blp.response(200, SubscriptionSchema)
def delete_subscription(subscription_id):
    """停用订阅 / Stop a subscription (its cursors are kept for the record)."""
    return subscriptions.deactivate(service(), actor(), subscription_id)


@blp.route("/subscriptions/<int:subscription_id>/replay", methods=["POST"])
@blp.arguments(RewindSchema)
@blp.response(200, CountSchema)
@blp.alt_response(
    409,
    description="该事件已按保留期限删除，或订阅已停用 / that event was deleted after the retention period, "
    "or the subscription is stopped",
)
def rewind_subscription(body, subscription_id):
    """从某事件起重新推送（全部案件或一个案件）/ Deliver again from an event id on (all cases, or one).

    409 ``events_pruned`` when retention (SIJI_OUTBOX_RETENTION_DAYS) has deleted that event:
    the answer names ``first_event_id``, the first one that can still be sent. 409 too for a
    stopped subscription: nothing is delivered to it any more."""
    return {
        "count": subscriptions.rewind(
            service(), actor(), subscription_id, body["from_event_id"], body.get("process_instance_id")
        )
    }


@blp.route("/dead-letters")
@blp.arguments(DeadLetterQuery, location="query")
@blp.response(200, DeadLetterListSchema)
def list_dead_letters(query):
    """死信：多次推送失败而停下的案件 / Dead letters: cases whose delivery stopped after every try failed."""
    return {"items": subscriptions.dead_letters(service(), query.get("subscription_id"))}


@blp.route("/dead-letters/replay", methods=["POST"])
@blp.arguments(ReplayDeadSchema)
@blp.response(200, CountSchema)
def replay_dead_letters(body):
    """重新推送死信（按 id，或某订阅的全部）/ Retry dead letters (by id, or all of a subscription)."""
    return {"count": subscriptions.replay_dead(service(), actor(), body.get("ids"), body.get("subscription_id"))}
