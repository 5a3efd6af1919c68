"""/api/docs: Swagger UI served by the service itself, from the copy of swagger-ui-dist that
tools/pages-setup puts in api/pages/dist/swagger/. No CDN: these machines and many government
networks reach no internet. The page runs under the same Content-Security-Policy as the other
pages (scripts from this origin only), so its start-up code is a file too, not inline.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request, send_from_directory

from api.pages import DIST, SECURITY_HEADERS, _mimetype

SWAGGER = DIST / "swagger"

DOCS_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>API 文档 · 四即流程再造 / API docs</title>
<link rel="icon" href="/api/docs/static/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
<style>body{margin:0} .siji-docs-head{font:14px/1.5 system-ui,sans-serif;padding:10px 20px;background:#1f2328;color:#fff}
.siji-docs-head a{color:#9cdcfe}</style></head>
<body><div class="siji-docs-head">四即流程再造 API 文档 / API docs —
令牌：点“Authorize”，填入 <code>siji demo</code> 或登录页发放的令牌 / paste a token under “Authorize”.
· <a href="/api/openapi.json">openapi.json</a> · <a href="/">首页 / home</a></div>
<div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"""

# validatorUrl null: Swagger UI would otherwise fetch a badge from validator.swagger.io
INIT_JS = """window.ui = SwaggerUIBundle({
  url: '/api/openapi.json', dom_id: '#swagger-ui', validatorUrl: null, deepLinking: true,
  persistAuthorization: false, tryItOutEnabled: false, defaultModelsExpandDepth: 0,
});
"""

NOT_BUILT = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>API 文档 / API docs</title></head>
<body style="font:15px/1.6 system-ui,sans-serif;max-width:720px;margin:48px auto">
<h1>API 文档 / API docs</h1>
<p>本机未构建 Swagger UI（需要 Node.js 与 npm，运行 <code>tools/pages-setup</code>）。
OpenAPI 文档照常可用：<a href="/api/openapi.json">/api/openapi.json</a>。</p>
<p lang="en">Swagger UI is not built on this machine (run <code>tools/pages-setup</code>, which needs
Node.js and npm). The OpenAPI document is served regardless: <a href="/api/openapi.json">/api/openapi.json</a>.</p>
</body></html>"""


def docs_blueprint() -> Blueprint:
    bp = Blueprint("apidocs", __name__)

    @bp.route("/api/docs")
    def docs():
        built = (SWAGGER / "swagger-ui-bundle.js").is_file()
        resp = Response(DOCS_HTML if built else NOT_BUILT, status=200 if built else 503, mimetype="text/html")
        resp.headers.update(SECURITY_HEADERS)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    @bp.route("/api/docs/init.js")
    def init_js():
        resp = Response(INIT_JS, mimetype="text/javascript")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    @bp.route("/api/docs/static/<path:filename>")
    def static(filename: str):
        if ".." in filename or not (SWAGGER / filename).is_file():
            abort(404)
        gz = SWAGGER / f"{filename}.gz"
        if "gzip" in request.headers.get("Accept-Encoding", "") and gz.is_file():
            resp = send_from_directory(SWAGGER, f"{filename}.gz", max_age=86400, conditional=True)
            resp.headers["Content-Encoding"] = "gzip"
            resp.headers["Vary"] = "Accept-Encoding"
            resp.mimetype = _mimetype(filename)
        else:
            resp = send_from_directory(SWAGGER, filename, max_age=86400, conditional=True)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    return bp
