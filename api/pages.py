"""The web pages (modeler, inbox, case view): static HTML shells plus the JS/CSS bundle built from
api/pages/ by tools/pages-setup (bpmn-js, dmn-js, form-js from the npm registry).

The pages call only the public JSON API with the user's bearer token, so they need no session and
no endpoint of their own: both views here are public (authz.MATRIX). Where Node.js was missing and
the bundle was never built, every page answers 503 with a notice that the API works regardless.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_from_directory

PAGES_DIR = Path(__file__).resolve().parent / "pages"
DIST = PAGES_DIR / "dist"
HTML = PAGES_DIR / "html"

# route -> (html file, bundle entry)
PAGES = {
    "home": "home",
    "modeler": "modeler",
    "inbox": "inbox",
    "case": "case",
    "admin": "admin",
    "supervision": "supervision",
    "caselist": "caselist",
}

SECURITY_HEADERS = {
    # scripts only from this origin: the token in sessionStorage is not reachable by injected code
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_manifest_cache: dict = {"mtime": None, "data": None}


def _manifest() -> dict | None:
    path = DIST / "manifest.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    if _manifest_cache["mtime"] != (path, mtime):
        try:
            _manifest_cache["data"] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        _manifest_cache["mtime"] = (path, mtime)
    return _manifest_cache["data"]


def _asset_tags(entry: dict) -> str:
    tags = []
    if entry.get("css"):
        tags.append(f'<link rel="stylesheet" href="/pages/assets/{escape(entry["css"])}">')
    for chunk in entry.get("preload", []):
        tags.append(f'<link rel="modulepreload" href="/pages/assets/{escape(chunk)}">')
    tags.append(f'<script type="module" src="/pages/assets/{escape(entry["js"])}"></script>')
    return "\n".join(tags)


NOT_BUILT = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>页面未构建 · 四即流程再造</title>
<style>body{font:15px/1.6 system-ui,sans-serif;max-width:720px;margin:48px auto;padding:0 16px;color:#1f2328}
code{background:#f6f8fa;padding:1px 4px;border-radius:3px}</style></head>
<body><h1>网页尚未构建</h1>
<p>本机没有构建建模、待办和案件页面所需的前端资源（需要 Node.js 18+ 与 npm，
由 <code>tools/pages-setup</code> 安装并构建）。</p>
<p><b>API 照常可用：</b><a href="/api/docs">/api/docs</a>（OpenAPI：<a href="/api/openapi.json">/api/openapi.json</a>）。</p>
<p lang="en">The web pages are not built on this machine (Node.js 18+ and npm are needed; run
<code>tools/pages-setup</code>). The JSON API works regardless: <a href="/api/docs">/api/docs</a>.</p>
</body></html>"""


def pages_blueprint() -> Blueprint:
    bp = Blueprint("pages", __name__)

    def static_page(page: str, instance_id: int | None = None):
        manifest = _manifest()
        html_file = HTML / f"{page}.html"
        if manifest is None or page not in manifest or not html_file.is_file():
            resp = Response(NOT_BUILT, status=503, mimetype="text/html")
        else:
            html = html_file.read_text("utf-8").replace("<!--ASSETS-->", _asset_tags(manifest[page]))
            resp = Response(html, mimetype="text/html")
            resp.headers["Cache-Control"] = "no-cache"
        resp.headers.update(SECURITY_HEADERS)
        return resp

    def asset(filename: str):
        if _manifest() is None:
            abort(404)
        gz = DIST / f"{filename}.gz"
        if "gzip" in request.headers.get("Accept-Encoding", "") and gz.is_file() and ".." not in filename:
            resp = send_from_directory(DIST, f"{filename}.gz", max_age=31536000, conditional=True)
            resp.headers["Content-Encoding"] = "gzip"
            resp.headers["Vary"] = "Accept-Encoding"
            resp.mimetype = _mimetype(filename)
        else:
            resp = send_from_directory(DIST, filename, max_age=31536000, conditional=True)
        # file names carry a content hash: a new build never reuses one
        resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    for rule, page in (
        ("/", "home"),
        ("/modeler", "modeler"),
        ("/inbox", "inbox"),
        ("/case", "case"),
        ("/case/<int:instance_id>", "case"),
        ("/admin", "admin"),
        ("/supervision", "supervision"),
        ("/cases", "caselist"),
    ):
        bp.add_url_rule(rule, endpoint="static_page", view_func=static_page, defaults={"page": page})
    bp.add_url_rule("/pages/assets/<path:filename>", endpoint="asset", view_func=asset)
    return bp


def _mimetype(filename: str) -> str:
    import mimetypes

    if filename.endswith(".js"):
        return "text/javascript"
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
