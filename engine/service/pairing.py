"""The one-to-one commissioner pairing (一对一帮扶) as case data.

A new case carries ``commissioner``: the commissioner who started it on a paired enterprise's
behalf, or else the service commissioner paired with its enterprise in the pairing table (managed
with ``siji user add --pair``). Flows give the commissioner's tasks to that person
(``camunda:assignee="${commissioner}"``), so a case never goes to a commissioner the enterprise is
not paired with. No pairing → ``commissioner`` is null, and a flow that needs one has 党工委组织部
assign it (enterprise_call's Task_AssignCommissioner).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Pairing, User, UserRole

_PAIRED = (
    select(User.username)
    .join(Pairing, Pairing.commissioner_id == User.id)
    .join(UserRole, (UserRole.user_id == User.id) & (UserRole.role == "commissioner"))
    .where(User.active.is_(True))
    .order_by(User.username)
    .limit(1)
)


def paired_commissioner(session: Session, enterprise_id: int) -> str | None:
    """The active commissioner paired with the enterprise (the first by username when it has
    several), or None."""
    return session.scalar(_PAIRED.where(Pairing.applicant_id == enterprise_id))
