"""``/docs``: Swagger UI from local assets (the ``swagger-ui-bundle-v2`` package: Swagger UI 5), so it works
on an intranet with no way out. ReDoc is not offered (it would load from a CDN)."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/static/swagger"
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _docs_page(app: FastAPI) -> tuple[str, dict[str, str]]:
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/api/v1/openapi.json",
        title=f"{app.title} · API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": False},
    )
    html = bytes(page.body).decode()
    # the one inline script (the initialiser) is allowed by its hash, nothing else inline
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _SCRIPT.findall(html)
    )
    csp = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    )
    return html, {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"}


def install_docs(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-assets")
    router = APIRouter(include_in_schema=False)
    built: list[tuple[str, dict[str, str]]] = []

    @router.get("/docs")
    def docs() -> Response:
        if not built:
            built.append(_docs_page(app))
        html, headers = built[0]
        return Response(html, media_type="text/html", headers=headers)

    app.include_router(router)
