"""Fixtures of the retrieval tests: the embedded retriever over the knowledge base's index, a shuffled
copy of that index, and the service."""

import socket
import threading
import time

import pytest


@pytest.fixture(scope="session")
def retriever(kb_index):
    from retrieval import LuceneRetriever

    return LuceneRetriever(kb_index)


@pytest.fixture(scope="session")
def shuffled_index(kb_index, tmp_path_factory):
    """The same passages indexed in a shuffled order: Lucene's document order is not the id order."""
    import numpy as np

    from retrieval.index import build_index

    lines = (kb_index.parent / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    np.random.default_rng(0).shuffle(lines)
    root = tmp_path_factory.mktemp("shuffled")
    (root / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return build_index(root / "corpus.jsonl", root / "index")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    """A local port nothing listens on."""
    return _free_port()


@pytest.fixture(scope="session")
def served(kb_index):
    """The real service (uvicorn) over the knowledge base's index on a free port, in a thread of this
    process, stopped afterwards."""
    import uvicorn

    from retrieval.service import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(kb_index), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "service did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
