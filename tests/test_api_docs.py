"""/api/docs served by the service itself (no CDN), and request-level errors (marshmallow 422,
werkzeug 404/405) in Chinese and English, never showing a pattern or Python's None."""

from __future__ import annotations

import re

import pytest

import api.api_docs as api_docs
from api.request_errors import field_messages, message


def test_docs_page_loads_only_from_this_service(siji_sqlite):
    h = siji_sqlite
    if not (api_docs.SWAGGER / "swagger-ui-bundle.js").is_file():
        pytest.skip("Swagger UI not built (tools/pages-setup)")
    resp = h.client.get("/api/docs")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert srcs and all(s.startswith("/") for s in srcs), srcs  # nothing from another host
    assert "<script>" not in html  # no inline script (CSP)
    for src in srcs:
        if src.startswith("/api/docs"):
            got = h.client.get(src)
            assert got.status_code == 200, src
    assert "validatorUrl: null" in h.client.get("/api/docs/init.js").get_data(as_text=True)
    zipped = h.client.get("/api/docs/static/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.mimetype == "text/javascript"
    assert h.client.get("/api/docs/static/../manifest.json").status_code == 404
    assert h.client.get("/api/docs/static/nothing.js").status_code == 404
    assert h.client.get("/api/openapi.json").status_code == 200


def test_docs_page_says_when_not_built(siji_sqlite, monkeypatch, tmp_path):
    monkeypatch.setattr(api_docs, "SWAGGER", tmp_path)
    resp = siji_sqlite.client.get("/api/docs")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 503 and "/api/openapi.json" in text and "tools/pages-setup" in text


def _fields(resp):
    body = resp.get_json()
    assert body["message_zh"] and body["message_en"] and " / " in body["message"], body
    return body.get("fields") or {}


def _bilingual(fields: dict):
    for key, msgs in fields.items():
        assert isinstance(msgs, list) and msgs, key
        for m in msgs:
            zh, _, en = m.partition(" / ")
            assert re.search(r"[\u4e00-\u9fff]", zh) and en, m
            assert "None" not in m and "^" not in m and "\\d" not in m, m


def test_marshmallow_errors_in_chinese_and_english(siji_sqlite):
    h = siji_sqlite
    f = _fields(h.get("/api/tasks?page=abc", "housing"))
    assert f == {"page": ["须为整数 / not a valid integer"]}
    f = _fields(h.get("/api/tasks?state=x", "housing"))
    assert f["state"][0].startswith("须为以下之一：open, completed, cancelled, all / ")
    f = _fields(h.get("/api/tasks?page=0", "housing"))
    assert f["page"] == [
        "须不小于 1 且不大于 100000 / must be greater than or equal to 1 and less than or equal to 100000"
    ]
    resp = h.post("/api/admin/users", "admin", json={"username": "", "roles": ["x" * 50], "extra": 1})
    assert resp.status_code == 422
    f = _fields(resp)
    _bilingual(f)
    assert f["roles.0"] == ["长度不能超过 40 / longer than maximum length 40"]  # flattened, not nested
    assert f["username"] == ["长度须在 1 到 80 之间 / length must be between 1 and 80"]
    assert f["extra"] == ["不认识的字段 / unknown field"]
    f = _fields(h.post("/api/admin/users", "admin", json={"username": None, "roles": None}))
    assert f == {"username": ["不能为空值 / field may not be null"], "roles": ["不能为空值 / field may not be null"]}
    f = _fields(h.post("/api/admin/users", "admin", json=[1]))
    assert f == {"body": ["请求体须为 JSON 对象 / invalid input type"]}
    f = _fields(h.post("/api/admin/users", "admin", json={"roles": ["analyst"]}))
    assert f == {"username": ["必填 / missing data for required field"]}


def test_http_errors_in_chinese_and_english(siji_sqlite):
    h = siji_sqlite
    resp = h.get("/api/nothing-here", "housing")
    assert resp.status_code == 404 and resp.get_json()["message"] == "不存在 / not found"
    resp = h.client.delete("/api/tasks", headers=h.headers("housing"))
    assert resp.status_code == 405 and resp.get_json()["message"] == "不支持的方法 / method not allowed"


def test_messages_never_show_patterns_or_none():
    assert message("Must be one of: None, a.") == "须为以下之一：（空）, a / must be one of: null, a"
    assert message("String does not match expected pattern.") == "格式不正确 / string does not match expected pattern"
    assert message(r"Does not match ^\d{6}$.") == "取值无效 / invalid value"
    assert message("Value None is odd.") == "取值无效 / invalid value"
    assert message("Something new.") == "取值无效 / Something new."
    assert message("Must be greater than 0.") == "须大于 0 / must be greater than 0"
    assert field_messages({"json": {"a": {"0": {"b": ["Not a valid date."]}}}}) == {
        "a.0.b": ["须为日期，如 2025-09-26 / not a valid date"]
    }
