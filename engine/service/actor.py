"""Who is acting: the authenticated user and the roles a command checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Actor:
    id: int
    username: str
    roles: frozenset[str]

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & {"auditor", "admin"})

    def primary_role(self) -> str | None:
        return sorted(self.roles)[0] if self.roles else None
