"""The API docs pages in a real browser: headless Chromium (Debian's, driven by Playwright) opens
`/swagger/` and `/redoc/` served by waitress on 127.0.0.1, finds every operation of the merged spec,
sees no request for any other server and no console error (where CSP violations show), and runs
`GET /api/auth/user/` from Swagger UI with a token from login. Screenshots go to
`$SHOPCORE_TEST_ARTIFACTS/browser/` (CI keeps them), else to pytest's temporary folder.

The browser is SHOPCORE_TEST_BROWSER, else the first Chromium-family one on the PATH (Debian's
chromium here, which `.ci/run` installs; Playwright never downloads a browser on these machines), else
Playwright's own (GitHub's workflow runs `playwright install chromium`). Without one a laptop skips
loudly; with SHOPCORE_TEST_REQUIRE_SERVICES=1 (CI) a missing browser fails.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import waitress
from waitress import wasyncore

from shopcore.testing import make_test_configurator, request_context, services_required

# The browser: SHOPCORE_TEST_BROWSER names one (GitHub's workflow points it at the Chromium that
# Playwright installs there); otherwise the first Chromium-family browser on the PATH (Debian's
# `chromium` here, installed by .ci/run), otherwise Playwright's own, where `playwright install` put one.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# The pages are opened under a name that is not loopback, as in production (Swagger UI treats
# `localhost` and `127.0.0.1` specially); the browser alone resolves it, to 127.0.0.1.
DOCS_HOST = "docs.shopcore.test"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WAIT_MS = 30_000  # the longest any single browser step may take
USERNAME, PASSWORD = "docs.reader", "Browser-tested docs 2024!"

pytestmark = pytest.mark.timeout(300)


def browser_unavailable(reason: str):
    if services_required():
        pytest.fail(f"{reason}; SHOPCORE_TEST_REQUIRE_SERVICES=1 needs the browser test to run "
                    "(.ci/run installs Debian's chromium, `pip install -e .[testing]` installs playwright)",
                    pytrace=False)
    pytest.skip(f"BROWSER TEST NOT RUN: {reason} (apt-get install chromium; pip install -e .[testing])")


class ThreadedServer:
    """waitress serving one WSGI app on 127.0.0.1 at a free port, from a thread, until `stop()`."""

    def __init__(self, app):
        self._sockets: dict = {}
        self._server = waitress.create_server(app, map=self._sockets, host="127.0.0.1", port=0, threads=4)
        self.port = self._server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="docs-pages-waitress", daemon=True)

    def _serve(self) -> None:
        # Our own loop (not waitress' endless one) so stopping needs no socket closed under its feet.
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.1, map=self._sockets, count=1)

    def start(self) -> "ThreadedServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the waitress thread did not stop"
        self._server.task_dispatcher.shutdown(timeout=10)
        wasyncore.close_all(self._sockets)


@pytest.fixture(scope="module")
def docs_app(shopcore_settings, shopcore_registry):
    """The real app built from the test settings, on the test engine with sessions of its own.

    Its sessions are not the suite's switchable ones: waitress calls it from several threads, so it
    must never be handed the single connection of a rolled-back test.
    """
    from shopcore.db import make_session_factory

    engine = shopcore_registry["shopcore.engine"]
    config = make_test_configurator(shopcore_settings, **{
        "shopcore.engine": engine, "shopcore.dbsession_factory": make_session_factory(engine)})
    return config.make_wsgi_app()


@pytest.fixture(scope="module")
def live_server(docs_app):
    server = ThreadedServer(docs_app).start()
    yield server
    server.stop()


def find_browser() -> str | None:
    chosen = os.environ.get("SHOPCORE_TEST_BROWSER", "").strip()
    if chosen:
        return chosen
    return next((path for path in map(shutil.which, BROWSER_NAMES) if path), None)


@pytest.fixture(scope="module")
def browser():
    executable = find_browser()
    if executable is not None and not os.access(executable, os.X_OK):
        browser_unavailable(f"the browser {executable} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed")
    playwright = sync_playwright().start()
    try:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                                  headless=True, timeout=WAIT_MS)
        except Exception as exc:  # Playwright's own browser absent, or one that does not start
            browser_unavailable(f"no browser could be started ({type(exc).__name__}: {str(exc)[:300]}); "
                                "set SHOPCORE_TEST_BROWSER to a Chromium or Chrome executable")
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


class PageWatch:
    """What a page did: every request it made (any not for our server is refused), console errors."""

    def __init__(self, origin: str):
        self.origin = origin
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")

    def console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location}")

    def page_error(self, error) -> None:
        self.errors.append(f"uncaught: {error}")

    def assert_clean(self) -> None:
        assert self.requests, "the page made no request at all"
        assert self.refused == [], f"requests for another server than {self.origin}: {self.refused}"
        assert self.errors == [], "\n".join(self.errors)

    def wait_for(self, locator, state: str = "visible") -> None:
        """Wait for an element, failing with what the page logged rather than a bare timeout."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            locator.wait_for(state=state, timeout=WAIT_MS)
        except PlaywrightTimeout:
            pytest.fail(f"{locator} never became {state}; page errors: {self.errors}; "
                        f"refused requests: {self.refused}", pytrace=False)


@pytest.fixture
def watch(live_server) -> PageWatch:
    return PageWatch(f"http://{DOCS_HOST}:{live_server.port}")


@pytest.fixture
def page(browser, watch):
    """A fresh browser tab (own cookies and storage) on the docs server, watched by `watch`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=watch.origin,
                                  service_workers="block")
    context.set_default_timeout(WAIT_MS)
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("console", watch.console)
    page.on("pageerror", watch.page_error)
    yield page
    context.close()


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory):
    """`screenshot(page or element, name)`: a PNG under $SHOPCORE_TEST_ARTIFACTS/browser/ (or pytest's
    temporary folder), to see that the docs really render."""
    chosen = os.environ.get("SHOPCORE_TEST_ARTIFACTS")
    folder = Path(chosen) / "browser" if chosen else tmp_path_factory.mktemp("browser-artifacts")
    folder.mkdir(parents=True, exist_ok=True)

    def take(target, name: str, **options) -> None:
        target.screenshot(path=str(folder / name), timeout=WAIT_MS, **options)

    return take


def spec_operations(spec: dict) -> dict[tuple[str, str], str | None]:
    """(METHOD, path) -> operationId of every operation in the merged spec."""
    return {(method.upper(), path): operation.get("operationId")
            for path, item in spec["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS}


def listed(page, selector: str, script: str, at_least: int) -> list:
    """What `script` reads from the elements matching `selector`, once at least `at_least` rendered."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("([selector, count]) => document.querySelectorAll(selector).length >= count",
                               arg=[selector, at_least], timeout=WAIT_MS)
    except PlaywrightTimeout:
        pass  # some never rendered: the caller's comparison names them
    return page.eval_on_selector_all(selector, script)


@pytest.fixture
def merged_spec(docs_app):
    operations = spec_operations(docs_app.registry["shopcore.openapi_spec"])
    assert ("GET", "/api/auth/user/") in operations and len(operations) > 5
    return operations


def test_swagger_ui_lists_every_operation(page, watch, merged_spec, screenshot):
    page.goto("/swagger/")
    watch.wait_for(page.locator(".opblock").first)
    operations = listed(page, ".opblock", """blocks => blocks.map(block => [
        block.querySelector('.opblock-summary-method').textContent.trim(),
        block.querySelector('.opblock-summary-path').getAttribute('data-path')])""", len(merged_spec))
    screenshot(page, "swagger.png", full_page=True)
    assert {(method, path) for method, path in operations} == set(merged_spec)
    watch.assert_clean()


def test_redoc_lists_every_operation(page, watch, merged_spec, screenshot):
    page.goto("/redoc/")
    watch.wait_for(page.locator("[data-section-id^='operation/']").first, state="attached")
    sections = listed(page, "[data-section-id^='operation/']",
                      "sections => sections.map(section => section.dataset.sectionId)", len(merged_spec))
    screenshot(page, "redoc.png")
    assert None not in merged_spec.values(), "Redoc names operations by operationId: every one needs one"
    assert sorted(sections) == sorted(f"operation/{operation_id}" for operation_id in merged_spec.values())
    watch.assert_clean()


@pytest.fixture
def reader(committed_db, shopcore_registry):
    """A user committed for real, since the server's threads read the database on their own."""
    from shopcore.accounts.services import create_user

    with request_context(shopcore_registry) as request:
        create_user(request, username=USERNAME, email="docs.reader@example.com", password=PASSWORD)
    return USERNAME


def log_in(server_url: str, username: str, password: str) -> str:
    request = urllib.request.Request(f"{server_url}/api/auth/login/", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)["access"]


def test_swagger_ui_authorize_then_try_it_out_on_the_user_endpoint(page, watch, live_server, reader, screenshot):
    token = log_in(live_server.url, reader, PASSWORD)
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/auth/user/") else None)
    page.goto("/swagger/")
    watch.wait_for(page.locator(".auth-wrapper button.authorize"))

    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").first.fill(token)
    dialog.locator("button.modal-btn.auth.authorize").click()
    dialog.locator("button.btn-done").click()
    dialog.wait_for(state="detached")

    operation = page.locator(".opblock-get",
                             has=page.locator(".opblock-summary-path[data-path='/api/auth/user/']"))
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table .response")
    watch.wait_for(answer)
    screenshot(operation, "swagger-try-it-out.png")

    assert answer.locator(".response-col_status").inner_text().strip() == "200"
    body = json.loads(answer.locator(".response-col_description pre").first.inner_text())
    assert body["username"] == reader
    assert [r.headers.get("authorization") for r in sent] == [f"Bearer {token}"]
    watch.assert_clean()
