"""Browser tests: Debian's Chromium driven by Playwright for Python against ``hpf serve``.

A fresh migrated SQLite database is seeded with the org, the demo books and the demo users
(``hpf demo seed``) and served by a real ``hpf serve`` process on a free port. The demo workflow runs end
to end: a depositor applies online to change their phone (变更联系方式) and signs out, a clerk
accepts, a reviewer reviews (which completes it), and the depositor then sees the new phone.
A form posted without its CSRF token is refused. The employer agent uploads the December list:
a file with a wrong amount is refused row by row, the drafted file is accepted and confirmed. The leadership opens the cockpit (领导驾驶舱) of the demo's goal table:
every indicator card and every trend chart drawn. Screenshots of the main pages are written to
docs/screenshots/. Skipped when /usr/bin/chromium is missing, except under CI=true (then failed).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpf.auth.demo import DEMO_DEPOSITORS, DEMO_EMPLOYER, DEMO_PASSWORD
from hpf.auth.masking import mask_phone
from hpf.db.migrate import upgrade

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HPF = Path(sys.executable).parent / "hpf"
NEW_PHONE = "13812345678"
"""The served database's URL (for the few facts the demo seed does not set)."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    upgrade(url)
    env = {**os.environ, "HPF_DATABASE_URL": url, "HPF_ENV": "development"}
    subprocess.run([str(HPF), "demo", "seed"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [str(HPF), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(root + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("hpf serve did not start") from None
                time.sleep(0.2)
        yield root
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    return context.new_page()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def sign_in(page: Any, base_url: str, kind: str, login: str) -> None:
    page.goto(f"{base_url}/signin?kind={kind}")
    page.fill("#login_name", login)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#signin-submit")
    page.wait_for_selector("#who")


def sign_out(page: Any) -> None:
    page.click("#signout")
    page.wait_for_selector("#signin-form")


def test_demo_workflow_end_to_end(browser: Any, base_url: str) -> None:
    depositor_id = DEMO_DEPOSITORS[0][0]
    page = new_page(browser)

    page.goto(f"{base_url}/signin")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shot(page, "signin")

    # depositor applies online
    sign_in(page, base_url, "depositor", depositor_id)
    assert page.url.endswith("/me")
    assert page.inner_text("#id-number") != depositor_id  # masked
    shot(page, "depositor-portal")
    page.fill("#new-phone", NEW_PHONE)
    page.click("#contact-submit")
    page.wait_for_url(re.compile(r"/me/applications$"))
    assert page.locator("[data-status=submitted]").count() == 1
    sign_out(page)

    # clerk accepts
    sign_in(page, base_url, "staff", "clerk")
    assert page.url.endswith("/console")
    assert page.inner_text("#inbox-count") == "1"
    shot(page, "console-dashboard")
    page.click("#applications a")
    page.wait_for_selector("#action-accept")
    shot(page, "application")
    page.click("#action-accept")
    page.wait_for_selector("#app-status[data-status=accepted]")
    sign_out(page)

    # reviewer reviews: the last step of contact_change completes it
    sign_in(page, base_url, "staff", "reviewer")
    page.click("#applications a")
    page.click("#action-review")
    page.wait_for_selector("#app-status[data-status=completed]")
    sign_out(page)

    # the depositor sees the new phone
    sign_in(page, base_url, "depositor", depositor_id)
    assert page.inner_text("#phone") == mask_phone(NEW_PHONE)
    sign_out(page)
    page.context.close()


def test_form_without_csrf_token_is_refused(browser: Any, base_url: str) -> None:
    page = new_page(browser)
    sign_in(page, base_url, "depositor", DEMO_DEPOSITORS[1][0])
    page.evaluate("document.querySelector('#contact-form input[name=csrf_token]').remove()")
    page.fill("#new-phone", "13900001111")
    with page.expect_response(lambda r: r.url.endswith("/me/contact-change")) as info:
        page.click("#contact-submit")
    assert info.value.status == 403
    page.goto(f"{base_url}/me/applications")
    assert page.locator("[data-status=submitted]").count() == 0
    page.context.close()


def test_loan_calculator_and_language_switch(browser: Any, base_url: str) -> None:
    page = new_page(browser)
    page.goto(f"{base_url}/calc/loan")
    page.fill("#principal", "500000")
    page.fill("#months", "240")
    page.click("#calc-submit")
    page.wait_for_selector("#schedule tbody tr >> nth=239")
    assert page.inner_text("#total-interest")
    shot(page, "loan-calculator")
    page.click("#lang-en")
    page.wait_for_selector("h1:has-text('Loan calculator')")
    assert page.locator("html").get_attribute("lang") == "en"
    page.context.close()


def test_public_loan_limit_trial(browser: Any, base_url: str) -> None:
    page = new_page(browser)
    page.goto(f"{base_url}/")
    page.click("#link-loan-limit")
    page.wait_for_selector("#limit-form")
    page.fill("#balance", "80000")
    page.fill("#price", "900000")
    page.click("#calc-submit")
    page.wait_for_selector("#limit-result")
    assert page.inner_text("#limit")
    assert page.locator("#constraints tbody tr").count() == 4
    shot(page, "loan-limit")
    page.context.close()


def test_employer_uploads_and_confirms_the_month_list(
    browser: Any, base_url: str, tmp_path: Path
) -> None:
    page = new_page(browser)
    sign_in(page, base_url, "employer", DEMO_EMPLOYER[0])
    page.goto(f"{base_url}/employer/remittance?month=2023-12")
    assert page.get_attribute("#list-status", "data-status") == "draft"
    assert page.locator("#upload-progress").count() == 1
    template = page.request.get(base_url + str(page.get_attribute("#template-link", "href")))
    assert template.ok
    good = template.body()
    header, *rows = good.decode("utf-8-sig").splitlines()
    assert len(rows) == 12
    # a negative employee amount on the first row: refused row by row, nothing changes
    first = rows[0].split(",")
    first[-1] = "-" + first[-1]
    bad = "\r\n".join([header, ",".join(first), *rows[1:]]).encode("utf-8")
    (tmp_path / "bad.csv").write_bytes(bad)
    (tmp_path / "good.csv").write_bytes(good)
    page.set_input_files("#file", str(tmp_path / "bad.csv"))
    page.click("#upload-submit")
    page.wait_for_selector("#row-errors tbody tr")
    assert page.locator("#upload-rejected").count() == 1
    shot(page, "employer-upload-errors")
    page.set_input_files("#file", str(tmp_path / "good.csv"))
    page.click("#upload-submit")
    page.wait_for_selector("#upload-rejected", state="detached")
    page.click("#confirm-submit")
    page.wait_for_selector("#list-status[data-status=confirmed]")
    shot(page, "employer-remittance")
    page.context.close()


def test_staff_and_depositor_see_the_books(browser: Any, base_url: str) -> None:
    page = new_page(browser)
    sign_in(page, base_url, "staff", "clerk")
    page.goto(f"{base_url}/console/employers")
    page.click("table a >> nth=0")
    page.wait_for_load_state()
    assert "临沂演示有限公司" in page.content()
    shot(page, "console-employer")
    sign_out(page)
    sign_in(page, base_url, "depositor", DEMO_DEPOSITORS[0][0])
    page.goto(f"{base_url}/me/statement?year=2023")
    assert page.locator("[data-kind=interest_settlement]").inner_text() == "年度结息"
    shot(page, "depositor-statement")
    page.context.close()


def test_depositor_sees_why_a_withdrawal_is_refused(browser: Any, base_url: str) -> None:
    id_number = DEMO_DEPOSITORS[1][0]  # the demo seed registers a payroll card for everyone
    page = new_page(browser)
    sign_in(page, base_url, "depositor", id_number)
    page.goto(f"{base_url}/me/withdrawals/new?type=rent")
    page.wait_for_selector("#required-documents li")
    page.check("#doc-1")
    page.check("#owns_home")
    page.fill("#rent_months", "0")
    page.click("#withdrawal-submit")
    page.wait_for_selector("#refusal")
    codes = page.eval_on_selector_all("#reasons li", "items => items.map(i => i.dataset.code)")
    assert {"documents_missing", "owns_home", "rent_months"} <= set(codes)
    assert page.locator("#reasons .advice").count() == len(codes)
    shot(page, "withdrawal-refused")
    page.context.close()


def test_leadership_cockpit_draws_every_indicator(browser: Any, base_url: str) -> None:
    """The demo imports the 临沂 2023 goal table: 13 indicator cards, every trend chart drawn."""
    page = new_page(browser)
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, base_url, "staff", "leadership")
    page.click("a[href='/console/cockpit']")
    page.wait_for_selector("#indicators")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 3  # contributions, withdrawals, loans issued (and new depositors)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every("
        "n => n.dataset.drawn === '1' && n.querySelector('canvas'))"
    )
    assert page.locator("[data-chart] canvas").count() >= charts.count()
    assert page.locator(".hpf-indicator").count() == 13
    assert "临沂" in page.inner_text("#cockpit-title")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "cockpit.png"), full_page=True)
    page.select_option("#branch", index=1)  # drill down to a branch: the trends are redrawn
    page.wait_for_url("**branch=**")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every("
        "n => n.dataset.drawn === '1' && n.querySelector('canvas'))"
    )
    assert page.locator("#cockpit-branches tr.table-active").count() == 1
    page.context.close()
