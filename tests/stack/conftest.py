"""Fixtures for tests of the running compose stack (started by ``.ci/stack-test`` or ``.ci/stack-up``)."""

from __future__ import annotations

import os

import pytest

STACK_ENV = "TOOLGYM_STACK_TEST"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here needs the stack: skip them, with the reason, when it is not up."""
    if os.environ.get(STACK_ENV) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"needs the compose stack on a Docker-API engine: run .ci/stack-test ({STACK_ENV}=1)"
    )
    for item in items:
        if "tests/stack/" in item.nodeid.replace(os.sep, "/"):
            item.add_marker(skip)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: the stack scripts set it to the published service address")
    return value


@pytest.fixture(scope="session")
def sandbox_url() -> str:
    """The sandbox's address: the load balancer in front of the replicas."""
    return _env("TOOLGYM_SANDBOX_URL")


@pytest.fixture(scope="session")
def retriever_url() -> str:
    return _env("TOOLGYM_RETRIEVER_URL")


@pytest.fixture(scope="session")
def sandbox(sandbox_url: str):
    from sandbox.client import SandboxClient

    client = SandboxClient(sandbox_url, timeout_s=10.0)
    yield client
    client.close()


@pytest.fixture(scope="session")
def retriever(retriever_url: str):
    from retrieval import RetrieverClient

    client = RetrieverClient(retriever_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_client():
    """The engine the stack runs on ($DOCKER_HOST: Podman's Docker API in CI)."""
    import docker

    client = docker.from_env(timeout=30)
    yield client
    client.close()
