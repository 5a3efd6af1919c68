"""What a command refuses, in the words users read (Chinese and English) and a machine code.

The core says what went wrong; the HTTP layer (api/errors.py) decides the status code."""

from __future__ import annotations


class CommandError(Exception):
    code = "bad_request"

    def __init__(self, message_zh: str, message_en: str, fields: dict | None = None, **extra):
        super().__init__(message_en)
        self.message_zh, self.message_en, self.fields, self.extra = message_zh, message_en, fields or {}, extra


class NotFound(CommandError):
    code = "not_found"


class Forbidden(CommandError):
    code = "forbidden"


class Conflict(CommandError):
    code = "conflict"


class Pruned(Conflict):
    """Asked for outgoing events that retention has already deleted."""

    code = "events_pruned"


class Invalid(CommandError):
    code = "invalid"


class StepFailed(CommandError):
    """An engine step failed; the case is unchanged and an incident was recorded."""

    code = "engine_step_failed"
