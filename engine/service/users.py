"""Users and bearer tokens. Tokens are random, stored as SHA-256 hashes, expire, can be revoked."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine import roles

from engine.service.actor import Actor
from engine.service.errors import Invalid, NotFound
from engine.store.models import Pairing, Token, User, UserRole

log = logging.getLogger("siji.auth")

TOKEN_PREFIX = "sj_"
DEFAULT_TTL = timedelta(days=90)
SYSTEM_USER = "system"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_user(session: Session, username: str, user_roles: list[str], now: datetime, display_name: str = "",
                enterprise_name: str | None = None) -> User:
    bad = [r for r in user_roles if not roles.is_role(r)]
    if bad:
        raise ValueError(f"unknown role(s): {', '.join(bad)}")
    if not username or len(username) > 80 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError("username must be 1-80 letters, digits, '_', '-' or '.'")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user '{username}' exists")
    user = User(username=username, display_name=display_name or username, enterprise_name=enterprise_name,
                active=True, created_at=now)
    session.add(user)
    session.flush()
    for r in sorted(set(user_roles)):
        session.add(UserRole(user_id=user.id, role=r))
    return user


def issue_token(session: Session, user: User, now: datetime, ttl: timedelta = DEFAULT_TTL, label: str = "") -> str:
    token = new_token()
    session.add(Token(user_id=user.id, token_hash=hash_token(token), label=label, created_at=now,
                      expires_at=now + ttl))
    return token


def pair(session: Session, commissioner: User, applicant: User) -> None:
    session.add(Pairing(commissioner_id=commissioner.id, applicant_id=applicant.id))


# Built once: constructing a statement costs more than running it on the hot path.
_TOKEN_LOOKUP = (
    select(Token.user_id, Token.expires_at, Token.revoked_at, User.username, User.active, UserRole.role)
    .join(User, User.id == Token.user_id).outerjoin(UserRole, UserRole.user_id == User.id)
    .where(Token.token_hash == bindparam("token_hash")))


def authenticate(session: Session | Connection, header: str | None, now: datetime, remote: str | None = None) -> Actor | None:
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer "):].strip()
    if not token or len(token) > 200:
        log.warning("login failed: malformed token from %s", remote)
        return None
    # one statement: the token, its user and the user's roles (one row per role)
    rows = session.execute(_TOKEN_LOOKUP, {"token_hash": hash_token(token)}).all()
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        log.warning("login failed: %s token from %s",
                    "unknown" if row is None else ("revoked" if row.revoked_at else "expired or inactive"), remote)
        return None
    return Actor(row.user_id, row.username, frozenset(r.role for r in rows if r.role))


def system_actor(session: Session, now: datetime) -> Actor:
    """The built-in user that CLI deploys run as."""
    user = session.scalar(select(User).where(User.username == SYSTEM_USER))
    if user is None:
        user = create_user(session, SYSTEM_USER, ["analyst"], now, "系统 / system")
    return Actor(user.id, user.username, frozenset({"analyst"}))


def add_user(service, username: str, user_roles: list[str], display_name: str = "",
             enterprise_name: str | None = None, paired_with: list[str] = ()) -> tuple[User, str]:
    """Create a user with its roles and pairings and issue its first token, in one transaction.
    A commissioner is paired with the applicants named, an applicant with the commissioners."""
    now = service.now()
    with service.db.write() as s:
        try:
            user = create_user(s, username, user_roles, now, display_name, enterprise_name)
        except ValueError as e:
            field = "roles" if "role" in str(e) else "username"
            raise Invalid("用户数据有误", str(e), {field: [str(e)]}) from None
        for other in paired_with or []:
            peer = s.scalar(select(User).where(User.username == other))
            if peer is None:
                raise Invalid("结对用户不存在", f"no user '{other}'", {"paired_with": [f"未知用户 / unknown user {other}"]})
            if "commissioner" in user_roles:
                pair(s, user, peer)
            else:
                pair(s, peer, user)
        token = issue_token(s, user, now)
    return user, token


def revoke_tokens(service, username: str) -> User:
    """Revoke every token of a user."""
    with service.db.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound("用户不存在", "no such user", {"username": ["未知用户 / unknown user"]})
        s.execute(update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
                  .values(revoked_at=service.now()))
    return user


def display_names(session: Session, user_ids: list[int]) -> dict[int, str]:
    """user id → the display name (the username where none was set)."""
    if not user_ids:
        return {}
    return {uid: name or username for uid, username, name in session.execute(
        select(User.id, User.username, User.display_name).where(User.id.in_(set(user_ids))))}
