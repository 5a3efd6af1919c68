"""What form-js forms may contain, the messages users read (中文 / English), and the form errors."""

from __future__ import annotations

import re

ALLOWED_VALUES_KEYS = frozenset({"commissioner_options", "catalogue_options", "department_options"})

INPUT_TYPES = frozenset(
    {"textfield", "textarea", "number", "checkbox", "radio", "select", "checklist", "taglist", "datetime"}
)
DISPLAY_TYPES = frozenset({"text", "html", "spacer", "separator", "image", "button"})

DEFAULT_MAX_LENGTH = 10_000
DEFAULT_MAX_ITEMS = 500
MAX_SAFE_NUMBER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER: what the browser can hold
MAX_ERRORS = 200

_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


REQUIRED = "必填 / required"
UNKNOWN = "未知字段 / unknown field"
NOT_OBJECT = "应为对象 / must be an object"
NOT_LIST = "应为列表 / must be a list"
NOT_STRING = "应为文本 / must be a string"
NOT_NUMBER = "应为数字 / must be a number"
NOT_FINITE = "应为有限数值 / must be a finite number"
OUT_OF_RANGE = "数值超出范围 / number out of range"
NOT_BOOL = "应为是或否（true/false） / must be true or false"
NOT_ALLOWED = "不是可选的值 / not one of the allowed values"
DUPLICATE = "选项重复 / duplicate value"
NO_OPTIONS = "选项不可用 / no options available for this field"
CONTROL_CHARS = "包含不允许的控制字符 / contains control characters"
BAD_DATE = "日期格式应为 YYYY-MM-DD / must be a date YYYY-MM-DD"
BAD_DATETIME = "应为 ISO 8601 日期时间 / must be an ISO 8601 date-time"
BAD_TIME = "时间格式应为 HH:mm / must be a time HH:mm"
BAD_USCC = "统一社会信用代码无效 / invalid unified social credit code"
BAD_EMAIL = "电子邮箱格式不正确 / must be a valid email address"
BAD_PHONE = "电话号码格式不正确 / must be a valid phone number"
TOO_MANY_ERRORS = "错误过多，仅列出部分 / too many errors, only some are listed"


def _too_short(n):
    return f"不得少于 {n} 个字符 / must have at least {n} characters"


def _too_long(n):
    return f"不得超过 {n} 个字符 / must have at most {n} characters"


def _pattern(p):
    return f"格式不符合要求 / must match pattern {p}"


def _min(n):
    return f"不得小于 {n} / must be at least {n}"


def _max(n):
    return f"不得大于 {n} / must be at most {n}"


def _decimals(n):
    if n == 0:
        return "应为整数 / must be an integer"
    return f"小数位数不得超过 {n} 位 / must have at most {n} decimal digits"


def _increment(n):
    return f"应为 {n} 的整数倍 / must be a multiple of {n}"


def _min_items(n):
    return f"至少需要 {n} 行 / must have at least {n} rows"


def _max_items(n):
    return f"不得超过 {n} 行 / must have at most {n} rows"


class FormError(Exception):
    """Base class of this module's errors."""


class FormDefinitionError(FormError):
    """The form JSON itself is broken. ``path`` locates the component (``components.2.components.0``)."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class FormValidationError(FormError):
    """Submitted data is invalid. ``errors``: dotted field path -> list of messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(f"{len(errors)} invalid field(s): {', '.join(list(errors)[:10])}")
        self.errors = errors
