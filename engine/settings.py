"""The service's configuration, read once from the environment into one typed object.

Every ``SIJI_*`` variable the service reads is a field here (the README's configuration table lists
them); nothing else in the code reads the environment. Tests build a ``Settings`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """A variable that cannot be read as its type; the message names it."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected an integer") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...], upper: bool = False) -> str:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.upper() if upper else raw.lower()
    if value not in allowed:
        raise SettingsError(f"{name}={raw!r}: expected one of {', '.join(allowed)}")
    return value


DEFAULT_OFFICE_HOURS = "09:00-12:00,13:30-17:30"


def parse_hhmm(text: str) -> int:
    """``"13:30"`` → minutes after midnight (24:00 allowed); ValueError otherwise."""
    h, m = text.split(":")
    value = int(h) * 60 + int(m)
    if not 0 <= value <= 24 * 60 or not 0 <= int(m) < 60:
        raise ValueError(text)
    return value


def shifts_in_order(shifts: list[tuple[int, int]]) -> bool:
    """Sorted (start, end) shifts are non-empty, each ends after it starts, none overlaps the next."""
    return bool(shifts) and all(a < b for a, b in shifts) and all(x[1] <= y[0] for x, y in zip(shifts, shifts[1:]))


def parse_shifts(text: str) -> list[tuple[int, int]]:
    """``"09:00-12:00,13:30-17:30"`` → (start, end) minutes after midnight, sorted; ValueError
    unless ``shifts_in_order``."""
    shifts = []
    for part in text.split(","):
        a, sep, b = part.strip().partition("-")
        if not sep:
            raise ValueError(part)
        shifts.append((parse_hhmm(a.strip()), parse_hhmm(b.strip())))
    shifts.sort()
    if not shifts_in_order(shifts):
        raise ValueError(text)
    return shifts


def _office_hours(env: Mapping[str, str]) -> tuple[tuple[int, int], ...]:
    raw = env.get("SIJI_OFFICE_HOURS") or DEFAULT_OFFICE_HOURS
    try:
        return tuple(parse_shifts(raw))
    except ValueError:
        raise SettingsError(
            f"SIJI_OFFICE_HOURS: {raw!r} is not HH:MM-HH:MM shifts, increasing, not overlapping"
        ) from None


@dataclass(frozen=True)
class Settings:
    #: SIJI_INSTANCE_DIR — where the SQLite database and other per-instance files live.
    instance_dir: Path = field(default_factory=lambda: Path.cwd() / "instance")
    #: SIJI_DATABASE_URL — SQLAlchemy URL; default SQLite in the instance folder.
    database_url: str | None = None
    #: SIJI_DB_POOL — PostgreSQL connections kept per process (plus 10 overflow).
    db_pool: int = 5
    #: SIJI_HOST, SIJI_PORT — where ``siji serve`` listens.
    host: str = "127.0.0.1"
    port: int = 8080
    #: SIJI_WORKERS — HTTP worker processes of ``siji serve``.
    workers: int = 2
    #: SIJI_TIMER_WORKERS — timer worker processes ``siji serve`` starts and supervises (0: none,
    #: e.g. when timer workers run on other hosts with ``siji worker``).
    timer_workers: int = 1
    #: SIJI_ALLOW_CLOCK_CONTROL — lets an admin move the service clock forward (acceptance tests).
    allow_clock_control: bool = False
    #: SIJI_WEBHOOK_HOSTS — comma-separated hosts webhook subscriptions may point at (``*.example.cn``
    #: for a domain's subdomains); empty: no subscription can be made.
    webhook_hosts: tuple[str, ...] = ()
    #: SIJI_WEBHOOK_MAX_ATTEMPTS — tries of one event before it is dead-lettered.
    webhook_max_attempts: int = 8
    #: SIJI_WEBHOOK_TIMEOUT — seconds one webhook request may take.
    webhook_timeout: int = 10
    #: SIJI_OUTBOX_RETENTION_DAYS — days an outgoing event is kept once every webhook subscription
    #: has had it (engine/integration/outbox_housekeeping.py); 0: kept forever.
    outbox_retention_days: int = 30
    #: SIJI_CONNECTORS — the connector registry (JSON) service tasks call; unset: none.
    connectors: Path | None = None
    #: SIJI_MESSAGE_TTL — seconds a message that matches no waiting case is kept for one that
    #: arrives later; 0: such a message is refused (404).
    message_ttl: int = 0
    #: SIJI_LOG_FORMAT — ``text`` or ``json`` (one JSON object a line, with request and case ids).
    log_format: str = "text"
    #: SIJI_LOG_LEVEL — DEBUG, INFO, WARNING or ERROR.
    log_level: str = "INFO"
    #: SIJI_OFFICE_HOURS — the departments' office hours on working days, ``HH:MM-HH:MM`` shifts
    #: separated by commas: what one working day of a lead time counts in the reports (the
    #: simulator's settings file has its own, default the same).
    office_hours: tuple[tuple[int, int], ...] = tuple(parse_shifts(DEFAULT_OFFICE_HOURS))

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.instance_dir) / 'siji.sqlite3'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            instance_dir=Path(env.get("SIJI_INSTANCE_DIR") or Path.cwd() / "instance"),
            database_url=env.get("SIJI_DATABASE_URL") or None,
            db_pool=_int(env, "SIJI_DB_POOL", 5, minimum=1),
            host=env.get("SIJI_HOST") or "127.0.0.1",
            port=_int(env, "SIJI_PORT", 8080, minimum=1),
            workers=_int(env, "SIJI_WORKERS", 2, minimum=1),
            timer_workers=_int(env, "SIJI_TIMER_WORKERS", 1),
            allow_clock_control=_bool(env, "SIJI_ALLOW_CLOCK_CONTROL", False),
            webhook_hosts=tuple(
                h.strip().lower() for h in (env.get("SIJI_WEBHOOK_HOSTS") or "").split(",") if h.strip()
            ),
            webhook_max_attempts=_int(env, "SIJI_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1),
            webhook_timeout=_int(env, "SIJI_WEBHOOK_TIMEOUT", 10, minimum=1),
            outbox_retention_days=_int(env, "SIJI_OUTBOX_RETENTION_DAYS", 30),
            connectors=Path(env["SIJI_CONNECTORS"]) if env.get("SIJI_CONNECTORS") else None,
            message_ttl=_int(env, "SIJI_MESSAGE_TTL", 0),
            log_format=_choice(env, "SIJI_LOG_FORMAT", "text", ("text", "json")),
            log_level=_choice(env, "SIJI_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"), upper=True),
            office_hours=_office_hours(env),
        )

    def replace(self, **changes) -> Settings:
        from dataclasses import replace

        return replace(self, **changes)
