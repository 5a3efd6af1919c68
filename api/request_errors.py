"""Request-level validation messages (marshmallow, via flask-smorest/webargs) in the API's
"中文 / English" form, with the field path flattened (``roles.0``) so a client never has to walk
nested dicts. marshmallow's stock messages are English sentences; the common ones are translated
here by their shape. A message of unknown shape keeps its English with a generic Chinese lead,
and anything that would show a regular expression or a Python ``None`` is replaced.
"""

from __future__ import annotations

import re

_OPS = {
    "greater than or equal to": "不小于",
    "greater than": "大于",
    "less than or equal to": "不大于",
    "less than": "小于",
}
_OP = "|".join(sorted(map(re.escape, _OPS), key=len, reverse=True))

# (pattern of marshmallow's English message, Chinese template using the pattern's groups)
_KNOWN: list[tuple[re.Pattern, str]] = [
    (re.compile(p), zh)
    for p, zh in [
        (r"^Missing data for required field\.$", "必填"),
        (r"^Field may not be null\.$", "不能为空值"),
        (r"^Unknown field\.$", "不认识的字段"),
        (r"^Invalid input type\.$", "请求体须为 JSON 对象"),
        (r"^Invalid type\.$", "类型不正确"),
        (r"^Invalid value\.$", "取值无效"),
        (r"^Not a valid integer\.$", "须为整数"),
        (r"^Not a valid number\.$", "须为数字"),
        (r"^Number too large\.$", "数值过大"),
        (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "不允许 NaN 或无穷大"),
        (r"^Not a valid string\.$", "须为字符串"),
        (r"^Not a valid utf-8 string\.$", "须为有效的 UTF-8 字符串"),
        (r"^Not a valid boolean\.$", "须为 true 或 false"),
        (r"^Not a valid (?:aware |naive )?datetime\.$", "须为 ISO 8601 日期时间，如 2025-09-26T09:00:00+08:00"),
        (r"^Not a valid date\.$", "须为日期，如 2025-09-26"),
        (r"^Not a valid time\.$", "须为时间，如 09:00:00"),
        (r"^\".*\" cannot be formatted as a (?:datetime|date|time)\.$", "日期时间格式不正确"),
        (r"^Not a valid list\.$", "须为列表"),
        (r"^Not a valid mapping type\.$", "须为 JSON 对象"),
        (r"^Not a valid email address\.$", "须为有效的电子邮箱"),
        (r"^Not a valid UUID\.$", "须为 UUID"),
        (r"^String does not match expected pattern\.$", "格式不正确"),
        (r"^Length must be between (\d+) and (\d+)\.$", "长度须在 {0} 到 {1} 之间"),
        (r"^Length must be (\d+)\.$", "长度须为 {0}"),
        (r"^Longer than maximum length (\d+)\.$", "长度不能超过 {0}"),
        (r"^Shorter than minimum length (\d+)\.$", "长度不能少于 {0}"),
        (rf"^Must be ({_OP}) (\S+) and ({_OP}) (\S+)\.$", "须{op0} {1} 且{op2} {3}"),
        (rf"^Must be ({_OP}) (\S+)\.$", "须{op0} {1}"),
        (r"^Must be one of: (.*)\.$", "须为以下之一：{0}"),
    ]
]

_NONE = re.compile(r"\bNone\b")
# a message that would show a pattern or Python's None is never passed on
_LEAKY = re.compile(r"\bNone\b|\^|\$|\\[dswDSW]|\[\^?|\(\?")


def message(en: str) -> str:
    """One marshmallow message as "中文 / English"."""
    en = str(en)
    for pattern, zh in _KNOWN:
        m = pattern.match(en)
        if m:
            groups = [g for g in m.groups()]
            ops = {f"op{i}": _OPS.get(g, "") for i, g in enumerate(groups)}
            en_out = en[:-1] if en.endswith(".") else en
            if any(_NONE.search(g) for g in groups):  # a choice or bound built from Python None
                groups = [_NONE.sub("（空）", g) for g in groups]
                en_out = _NONE.sub("null", en_out)
            return f"{zh.format(*groups, **ops)} / {en_out[0].lower()}{en_out[1:]}"
    if _LEAKY.search(en):
        return "取值无效 / invalid value"
    return f"取值无效 / {en}"


def field_messages(messages: dict) -> dict[str, list[str]]:
    """webargs' ``{location: {field: [msg] | {index: [msg]}}}`` flattened to ``{"a.0.b": [msg]}``,
    each message translated. The whole-body error (``_schema``) is reported under ``body``."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, errs) -> None:
        if isinstance(errs, dict):
            for k, v in errs.items():
                key = "body" if k == "_schema" else str(k)
                walk(f"{prefix}.{key}" if prefix else key, v)
        elif isinstance(errs, (list, tuple)):
            for item in errs:
                if isinstance(item, (dict, list, tuple)):
                    walk(prefix, item)
                else:
                    out.setdefault(prefix or "body", []).append(message(item))
        else:
            out.setdefault(prefix or "body", []).append(message(errs))

    for _location, errs in (messages or {}).items():
        walk("", errs)
    return out
