"""Uploaded files sorted by kind (diagrams, decision tables, forms, settings, the catalogue), each
read within its size and depth limits; JSON with NaN or Infinity is refused."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from engine import roles
from engine.workflow.deploy_model import MAX_FORM_BYTES, MAX_JSON_BYTES, Problem, UploadedFile


def _form_key_of_upload(name: str) -> str:
    """``forms/business_opening/Task_X.form`` → ``business_opening/Task_X``."""
    p = PurePosixPath(name.replace("\\", "/"))
    parts = [x for x in p.with_suffix("").parts if x not in ("", ".", "..")]
    if parts and parts[0] == "forms":
        parts = parts[1:]
    return "/".join(parts[-2:]) if len(parts) >= 2 else parts[-1]


MAX_JSON_DEPTH = 64


def _no_constant(name: str):
    raise ValueError(f"{name} 不是 JSON / {name} is not JSON")


def _load_json(f: UploadedFile, limit: int) -> Any:
    if len(f.data) > limit:
        raise ValueError(f"文件过大 / file too large ({len(f.data)} bytes, limit {limit})")
    try:
        value = json.loads(f.data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise ValueError(f"不是 UTF-8 文本 / not UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"JSON 语法错误，第 {e.lineno} 行 / invalid JSON at line {e.lineno}: {e.msg}") from None
    except RecursionError:
        raise ValueError(
            f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）/ JSON nested deeper than {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError as e:  # NaN / Infinity, integers over 4300 digits
        raise ValueError(f"JSON 无效 / invalid JSON: {str(e)[:200]}") from None
    stack = [(value, 1)]
    while stack:  # deeper than any form needs; compiling it would recurse
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(
                f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）/ JSON nested deeper than {MAX_JSON_DEPTH} levels"
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return value


def classify(files: Iterable[UploadedFile]):
    bpmn, dmn, forms, settings, catalogue, problems = [], [], {}, {}, None, []
    for f in files:
        lower = f.name.lower()
        if lower.endswith(".bpmn") or lower.endswith(".bpmn20.xml"):
            bpmn.append(f)
        elif lower.endswith(".dmn"):
            dmn.append(f)
        elif lower.endswith(".form") or lower.endswith(".form.json"):
            try:
                forms[_form_key_of_upload(f.name.removesuffix(".json"))] = (f.name, _load_json(f, MAX_FORM_BYTES))
            except ValueError as e:
                problems.append(Problem(f.name, None, None, str(e)))
        elif lower.endswith(".settings.json"):
            key = PurePosixPath(f.name).name[: -len(".settings.json")]
            try:
                value = _load_json(f, MAX_JSON_BYTES)
                if not isinstance(value, dict):
                    raise ValueError("设置文件必须是 JSON 对象 / settings must be a JSON object")
                settings[key] = value
            except ValueError as e:
                problems.append(Problem(f.name, None, None, str(e)))
        elif PurePosixPath(f.name).name == "catalogue.json":
            try:
                catalogue = _load_json(f, MAX_JSON_BYTES)
                _check_catalogue(catalogue)
            except ValueError as e:
                problems.append(Problem(f.name, None, None, str(e)))
        else:
            problems.append(
                Problem(
                    f.name,
                    None,
                    None,
                    "不支持的文件类型（接受 .bpmn .dmn .form .settings.json catalogue.json）/ unsupported file type",
                )
            )
    return bpmn, dmn, forms, settings, catalogue, problems


def _check_catalogue(cat: Any) -> None:
    items = cat.get("items") if isinstance(cat, dict) else None
    if not isinstance(items, list):
        raise ValueError("目录必须有 items 列表 / catalogue needs an 'items' list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("code"):
            raise ValueError(f"items[{i}] 缺少 code / items[{i}] has no code")
        if item.get("path") not in ("commitment", "filing", "review"):
            raise ValueError(
                f"items[{i}].path 必须是 commitment/filing/review / items[{i}].path must be "
                "commitment, filing or review"
            )
        if not roles.is_role(str(item.get("department", ""))):
            raise ValueError(f"items[{i}].department 不是已知部门 / items[{i}].department is not a known role")
