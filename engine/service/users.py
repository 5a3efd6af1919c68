"""Users, bearer tokens and passwords. Tokens are random, stored as SHA-256 hashes, expire, can be
revoked; a password login (argon2id) issues a short-lived token labelled "session"."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2 import exceptions as argon2_exceptions
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine import roles
from engine.audit.chain import record_standalone
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


def create_user(
    session: Session,
    username: str,
    user_roles: list[str],
    now: datetime,
    display_name: str = "",
    enterprise_name: str | None = None,
) -> User:
    bad = [r for r in user_roles if not roles.is_role(r)]
    if bad:
        raise ValueError(f"unknown role(s): {', '.join(bad)}")
    if not username or len(username) > 80 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError("username must be 1-80 letters, digits, '_', '-' or '.'")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user '{username}' exists")
    user = User(
        username=username,
        display_name=display_name or username,
        enterprise_name=enterprise_name,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    for r in sorted(set(user_roles)):
        session.add(UserRole(user_id=user.id, role=r))
    return user


def issue_token(session: Session, user: User, now: datetime, ttl: timedelta = DEFAULT_TTL, label: str = "") -> str:
    token = new_token()
    session.add(Token(user_id=user.id, token_hash=hash_token(token), label=label, created_at=now, expires_at=now + ttl))
    return token


def pair(session: Session, commissioner: User, applicant: User) -> None:
    session.add(Pairing(commissioner_id=commissioner.id, applicant_id=applicant.id))


# Built once: constructing a statement costs more than running it on the hot path.
_TOKEN_LOOKUP = (
    select(Token.user_id, Token.expires_at, Token.revoked_at, User.username, User.active, UserRole.role)
    .join(User, User.id == Token.user_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(Token.token_hash == bindparam("token_hash"))
)


def authenticate(
    session: Session | Connection, header: str | None, now: datetime, remote: str | None = None
) -> Actor | None:
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer ") :].strip()
    if not token or len(token) > 200:
        log.warning("login failed: malformed token from %s", remote)
        return None
    # one statement: the token, its user and the user's roles (one row per role)
    rows = session.execute(_TOKEN_LOOKUP, {"token_hash": hash_token(token)}).all()
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        log.warning(
            "login failed: %s token from %s",
            "unknown" if row is None else ("revoked" if row.revoked_at else "expired or inactive"),
            remote,
        )
        return None
    return Actor(row.user_id, row.username, frozenset(r.role for r in rows if r.role))


def system_actor(session: Session, now: datetime) -> Actor:
    """The built-in user that CLI deploys run as."""
    user = session.scalar(select(User).where(User.username == SYSTEM_USER))
    if user is None:
        user = create_user(session, SYSTEM_USER, ["analyst"], now, "系统 / system")
    return Actor(user.id, user.username, frozenset({"analyst"}))


def add_user(
    service,
    username: str,
    user_roles: list[str],
    display_name: str = "",
    enterprise_name: str | None = None,
    paired_with: list[str] = (),
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user with its roles, pairings and (optionally) password, and issue its first
    token, in one transaction. A commissioner is paired with the applicants named, an applicant
    with the commissioners."""
    now = service.now()
    hashed = hash_password(password) if password is not None else None
    with service.db.write() as s:
        try:
            user = create_user(s, username, user_roles, now, display_name, enterprise_name)
        except ValueError as e:
            field = "roles" if "role" in str(e) else "username"
            raise Invalid("用户数据有误", str(e), {field: [str(e)]}) from None
        user.password_hash = hashed
        for other in paired_with or []:
            peer = s.scalar(select(User).where(User.username == other))
            if peer is None:
                raise Invalid(
                    "结对用户不存在", f"no user '{other}'", {"paired_with": [f"未知用户 / unknown user {other}"]}
                )
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
        s.execute(
            update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None)).values(revoked_at=service.now())
        )
    return user


def display_names(session: Session, user_ids: list[int]) -> dict[int, str]:
    """user id → the display name (the username where none was set)."""
    if not user_ids:
        return {}
    return {
        uid: name or username
        for uid, username, name in session.execute(
            select(User.id, User.username, User.display_name).where(User.id.in_(set(user_ids)))
        )
    }


# ----------------------------------------------------------------------------- passwords
# argon2id with the library's current defaults (RFC 9106 low-memory profile): a stolen users table
# costs an attacker a memory-hard hash per guess. A hash made with older parameters is redone at
# the next successful login.
_hasher = PasswordHasher()
# Verified against when the username is unknown, so the answer takes as long as for a known one.
_DUMMY_HASH = _hasher.hash("siji: no such user")
SESSION_TTL = timedelta(hours=12)
SESSION_LABEL = "session"
MAX_FAILED_LOGINS = 5  # consecutive failures before the password login is locked
LOCK_TIME = timedelta(minutes=15)
PASSWORD_MIN, PASSWORD_MAX = 8, 200


def check_password_rules(password: str) -> None:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(
            "密码长度不符合要求",
            f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters",
            {"password": [f"{PASSWORD_MIN}–{PASSWORD_MAX} 个字符 / {PASSWORD_MIN} to {PASSWORD_MAX} characters"]},
        )
    if password.strip() == "" or len(set(password)) < 3:
        raise Invalid(
            "密码过于简单",
            "the password is too simple",
            {"password": ["至少包含三种不同字符 / at least three different characters"]},
        )


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


class LoginRefused(Exception):
    """Wrong username or password (one answer for both), or locked after too many failures."""

    def __init__(self, locked_until: datetime | None = None):
        super().__init__("login refused")
        self.locked_until = locked_until


def password_login(service, username: str, password: str, remote: str | None = None) -> tuple[str, User, datetime]:
    """Check a username and password; issue a session token (label "session", SESSION_TTL).
    After MAX_FAILED_LOGINS consecutive failures the password login of that user is refused for
    LOCK_TIME (its tokens keep working). Failures are logged with the username and address, never
    the password. Returns (token, user, expires_at)."""
    now = service.now()
    refused: LoginRefused | None = None
    with service.db.write() as s:
        user = s.scalar(select(User).where(User.username == username[:80]))
        if user is None or not user.active or user.password_hash is None:
            _verify(_DUMMY_HASH, password)
            log.warning(
                "password login failed: %s user %r from %s",
                "unknown" if user is None else ("inactive" if not user.active else "passwordless"),
                username[:80],
                remote,
            )
            raise LoginRefused()
        if user.locked_until is not None and user.locked_until > now:
            log.warning(
                "password login refused: user %r locked until %s, from %s",
                user.username,
                user.locked_until.isoformat(),
                remote,
            )
            raise LoginRefused(user.locked_until)
        if not _verify(user.password_hash, password):
            # the count is committed although the login is refused
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCK_TIME
                user.failed_logins = 0
                record_standalone(
                    s,
                    now,
                    "login_locked",
                    user.username,
                    None,
                    {"username": user.username, "until": user.locked_until.isoformat(), "remote": remote},
                )
            locked = user.locked_until if user.locked_until and user.locked_until > now else None
            log.warning(
                "password login failed: wrong password for %r from %s (%s)",
                user.username,
                remote,
                "now locked" if locked else f"{user.failed_logins} in a row",
            )
            refused = LoginRefused(locked)
        else:
            user.failed_logins = 0
            user.locked_until = None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            token = issue_token(s, user, now, SESSION_TTL, label=SESSION_LABEL)
            s.flush()
            s.expunge(user)
    if refused is not None:
        raise refused
    log.info("password login: %s from %s", user.username, remote)
    return token, user, now + SESSION_TTL


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (argon2_exceptions.VerificationError, argon2_exceptions.InvalidHashError):
        return False


def end_session(service, header: str | None) -> None:
    """Revoke the session token of this request (log out). An API token is not ended this way
    (an admin revokes those): refused, nothing changes."""
    token = (header or "")[len("Bearer ") :].strip()
    with service.db.write() as s:
        n = s.execute(
            update(Token)
            .where(Token.token_hash == hash_token(token), Token.label == SESSION_LABEL, Token.revoked_at.is_(None))
            .values(revoked_at=service.now())
        ).rowcount
    if n != 1:
        raise Invalid(
            "只能注销密码登录的会话令牌",
            "only a session token (from the password login) can be logged out; an admin revokes API tokens",
            {"Authorization": ["不是会话令牌 / not a session token"]},
        )


# ----------------------------------------------------------------------------- administration
def user_json(session: Session, user: User) -> dict:
    user_roles = sorted(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))
    return {
        "username": user.username,
        "display_name": user.display_name or user.username,
        "roles": user_roles,
        "active": user.active,
        "has_password": user.password_hash is not None,
        "enterprise_name": user.enterprise_name,
        "locked_until": user.locked_until,
    }


def update_user(
    service,
    admin: Actor,
    username: str,
    display_name: str | None = None,
    user_roles: list[str] | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> dict:
    """Change a user's display name, roles (the whole set), active flag or password, in one
    transaction with one audit event naming what changed (never the password itself)."""
    if user_roles is not None:
        bad = [r for r in user_roles if not roles.is_role(r)]
        if bad:
            raise Invalid(
                "未知角色",
                f"unknown role(s): {', '.join(bad)}",
                {"roles": [f"未知角色 / unknown role: {', '.join(bad)}"]},
            )
    if username == SYSTEM_USER:
        raise Invalid("系统用户不可修改", "the system user cannot be changed", {"username": ["system"]})
    now = service.now()
    with service.db.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound("用户不存在", "no such user", {"username": ["未知用户 / unknown user"]})
        changed: dict = {}
        if display_name is not None and display_name != user.display_name:
            changed["display_name"] = {"from": user.display_name, "to": display_name}
            user.display_name = display_name
        if user_roles is not None:
            old = set(s.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))
            new = set(user_roles)
            if user.id == admin.id and "admin" in old and "admin" not in new:
                raise Invalid(
                    "不能撤销自己的管理员角色",
                    "you cannot remove your own admin role",
                    {"roles": ["须保留 admin / keep admin"]},
                )
            if old != new:
                changed["roles"] = {"added": sorted(new - old), "removed": sorted(old - new)}
                s.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role.in_(old - new)))
                for r in sorted(new - old):
                    s.add(UserRole(user_id=user.id, role=r))
        if active is not None and active != user.active:
            if user.id == admin.id and not active:
                raise Invalid("不能停用自己", "you cannot deactivate yourself", {"active": ["false"]})
            changed["active"] = active
            user.active = active
        if password is not None:
            user.password_hash = hash_password(password)
            user.failed_logins = 0
            user.locked_until = None
            changed["password"] = "set"
        if changed:
            record_standalone(s, now, "user_changed", admin.username, None, {"username": username, **changed})
        s.flush()
        return user_json(s, user)
