"""Fixtures: a sandbox (a container started here, or UIP_SANDBOX_URL), a business whose webhooks go
to a receiver in this process, and a small API helper."""

import os
import socket
import subprocess
import time
import uuid

import pytest
import requests

from receiver import Receiver

IMAGE = os.environ.get("UIP_SANDBOX_IMAGE", "uip-sandbox:dev")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox at {url} is not healthy after {timeout}s")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def sandbox():
    """(base URL, host name under which the sandbox reaches this test process)."""
    if os.environ.get("UIP_SANDBOX_URL"):
        url = os.environ["UIP_SANDBOX_URL"].rstrip("/")
        wait_healthy(url)
        yield url, os.environ.get("UIP_WEBHOOK_HOST", "127.0.0.1")
        return
    port = free_port()
    name = f"uip-sandbox-pytest-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name,
         "-p", f"127.0.0.1:{port}:8787",
         # Hosted-page links in create responses point where a browser on this host finds them.
         "-e", f"UIP_SANDBOX_PUBLIC_URL=http://127.0.0.1:{port}",
         # A rejected webhook is retried after 200 ms instead of 1 s.
         "-e", "UIP_SANDBOX_RETRY_BASE_MS=200",
         # The container reaches this host (and the receiver below) as host.docker.internal.
         "--add-host", "host.docker.internal:host-gateway",
         IMAGE],
        check=True, capture_output=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        yield url, os.environ.get("UIP_WEBHOOK_HOST", "host.docker.internal")
    finally:
        subprocess.run(["docker", "stop", name], capture_output=True)


class Api:
    """requests with the base URL and the business's API key."""

    def __init__(self, base: str, api_key: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return self.http.post(self.base + path, json=body if body is not None else {}, timeout=10)


@pytest.fixture(scope="session")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="session")
def api(sandbox, receiver):
    """A fresh business of the sandbox whose webhooks go to `receiver`."""
    url, webhook_host = sandbox
    r = requests.post(
        f"{url}/_sandbox/businesses",
        json={"webhook_url": f"http://{webhook_host}:{receiver.port}/uip-webhook", "name": "pytest"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    business = r.json()
    receiver.secret = business["webhook_secret"]
    return Api(url, business["api_key"])
