"""Integration: RabbitMQ's management UI in the local runtime, with the real broker (ports offset
12350). The `monitoring` user reads the HTTP API and changes nothing; wrong passwords, `guest`
and anonymous requests are refused; headless chromium logs in to the UI.
STACK_RABBITMQ_SCREENSHOT=<png> saves what chromium saw (docs/img/rabbitmq-management.png is
made that way)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack.paths import DataDir
from stack.runtimes.local.rabbitmq import find_server_script
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports
from tests.programs import needs

OFFSET = 12350
QUEUE = "/queues/%2F/monitoring-probe"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(
        DataDir(tmp_path_factory.mktemp("rabbitmq")), build(environ=offset_ports(OFFSET))
    )
    if find_server_script() is None:
        pytest.skip("rabbitmq-server is not installed (docs/local-runtime.md)")
    runtime.up(only=["rabbitmq"])
    yield runtime
    runtime.down(purge=True)


def _api(stack: LocalRuntime) -> str:
    return stack.topology.get("rabbitmq").url("management", "/api")


def _login(stack: LocalRuntime, user: str) -> tuple[str, str]:
    secret = {"stack": "rabbitmq_password", "monitoring": "rabbitmq_monitoring_password"}[user]
    return user, (stack.data.secrets / secret).read_text(encoding="utf-8").strip()


def test_the_ui_listens_on_loopback_at_its_own_port(stack: LocalRuntime) -> None:
    rabbitmq = stack.topology.get("rabbitmq")
    assert rabbitmq.ports["management"] == 9172 + OFFSET  # 15672, folded below 10000, moved
    page = httpx.get(rabbitmq.url("management", "/"))
    assert page.status_code == 200 and "RabbitMQ Management" in page.text


def test_monitoring_reads_the_overview_as_a_monitoring_user(stack: LocalRuntime) -> None:
    login = _login(stack, "monitoring")
    overview = httpx.get(f"{_api(stack)}/overview", auth=login)
    assert overview.status_code == 200, overview.text
    assert overview.json()["management_version"].startswith("3.")
    assert httpx.get(f"{_api(stack)}/whoami", auth=login).json()["tags"] == ["monitoring"]
    assert httpx.get(f"{_api(stack)}/queues", auth=login).status_code == 200


def test_monitoring_can_neither_declare_nor_publish(stack: LocalRuntime) -> None:
    monitoring, admin = _login(stack, "monitoring"), _login(stack, "stack")
    declared = httpx.put(f"{_api(stack)}{QUEUE}", auth=monitoring, json={"durable": False})
    assert declared.status_code in (401, 403), declared.text
    assert httpx.get(f"{_api(stack)}{QUEUE}", auth=admin).status_code == 404
    # The administrator may (what makes the refusal above a permission, not a broken API).
    assert httpx.put(f"{_api(stack)}{QUEUE}", auth=admin, json={"durable": False}).is_success
    try:
        publish = f"{_api(stack)}/exchanges/%2F/amq.default/publish"
        message = dict(properties={}, routing_key="monitoring-probe", payload="x")
        refused = httpx.post(
            publish, auth=monitoring, json=message | {"payload_encoding": "string"}
        )
        # The API relays the channel's refusal (403 ACCESS_REFUSED) as a 400.
        assert refused.status_code in (400, 401, 403), refused.text
        assert "ACCESS_REFUSED" in refused.text or refused.status_code in (401, 403)
        take = {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"}
        assert httpx.post(f"{_api(stack)}{QUEUE}/get", auth=admin, json=take).json() == []
        deleted = httpx.delete(f"{_api(stack)}{QUEUE}", auth=monitoring)
        assert deleted.status_code in (401, 403), deleted.text
    finally:
        httpx.delete(f"{_api(stack)}{QUEUE}", auth=admin)


@pytest.mark.parametrize(
    "auth",
    [("monitoring", "wrong-password"), ("guest", "guest"), ("stack", "wrong-password"), None],
    ids=["wrong-password", "guest", "admin-wrong-password", "anonymous"],
)
def test_the_api_refuses_bad_logins(stack: LocalRuntime, auth: tuple[str, str] | None) -> None:
    assert httpx.get(f"{_api(stack)}/overview", auth=auth).status_code == 401


def test_chromium_logs_in_as_monitoring(stack: LocalRuntime, tmp_path: Path) -> None:
    needs("chromium")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    from grader.browser import chromium

    user, password = _login(stack, "monitoring")
    with chromium() as driver:
        driver.set_window_size(1280, 900)
        driver.get(stack.topology.get("rabbitmq").url("management", "/"))
        wait = WebDriverWait(driver, 30)
        wait.until(shown.visibility_of_element_located((By.NAME, "username"))).send_keys(user)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "#login input[type=submit]").click()
        # Logged in: the header names the user, and the overview shows the node's totals.
        wait.until(shown.text_to_be_present_in_element((By.ID, "logout"), f"User {user}"))
        wait.until(shown.visibility_of_element_located((By.CSS_SELECTOR, "#main table")))
        tabs = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#tabs > li > a")]
        assert {"Overview", "Connections", "Queues"} <= set(tabs), tabs
        # The node's own statistics arrive with a later refresh (every 5 s): the screenshot
        # shows them rather than "Node statistics not available".
        main = (By.ID, "main")
        wait.until(lambda d: "statistics not available" not in d.find_element(*main).text)
        shot = tmp_path / "rabbitmq-management.png"
        assert driver.save_screenshot(str(shot))
    if os.environ.get("STACK_RABBITMQ_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["STACK_RABBITMQ_SCREENSHOT"])
