"""Item 10 of issue 14: "No human-readable API documentation (only openapi.json)". Every service
publishes a browsable page of its API at ``<prefix>/docs`` (Swagger UI, served by the service
itself under its own Content-Security-Policy: no script from another site), which lists the
operations its OpenAPI document describes."""
import pytest

from shared.config import SERVICES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_browsable_api_page_that_lists_its_operations_within_the_csp(
        service, live_server, browser_page):
    page, base = browser_page, live_server
    console = []  # a Content-Security-Policy violation is a console error in Chromium
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    outside = []  # the page loads nothing from another site
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(base) else None)
    answer = page.goto(f"{base}/{service}/docs")
    assert answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    spec = page.request.get(f"{base}/{service}/openapi.json").json()
    # the operations' paths as the document names them: the page shows each
    paths = sorted(spec["paths"])
    assert f"/{service}/health" in paths
    page.wait_for_selector(".opblock", timeout=20_000)
    shown = set(page.locator(".opblock-summary-path").all_inner_texts())
    shown = {text.replace("\u200b", "").strip() for text in shown}
    assert set(paths) <= shown, sorted(set(paths) - shown)
    assert spec["info"]["title"] in page.locator(".info .title").inner_text()
    assert not [m for m in console if "Content Security Policy" in m or m.startswith(("error", "pageerror"))], console
    assert outside == []


def test_the_api_page_serves_only_swagger_ui_s_own_files(client):
    assert client.get("/intake/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/intake/docs/assets/swagger-ui.css").mimetype == "text/css"
    assert client.get("/intake/docs/assets/LICENSE").status_code == 404
    assert client.get("/intake/docs/assets/..%2Fflask_swagger_ui.py").status_code == 404
