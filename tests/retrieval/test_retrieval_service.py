"""The service: Search-R1's JSON, same ranking as embedded, clear 4xx errors, the HTTP client."""

import pytest
from fastapi.testclient import TestClient

from retrieval import RetrieverClient, RetrieverError
from retrieval.service import create_app

QUERIES = ["In what year was Bevin Kael born?", "capital of Linlinavia", "Talwick population"]


@pytest.fixture(scope="module")
def client(retriever):
    with TestClient(create_app(retriever=retriever, cache_size=16)) as c:
        yield c


def test_search_r1_shape_with_scores(client, retriever):
    resp = client.post("/retrieve", json={"queries": QUERIES, "topk": 3, "return_scores": True})
    assert resp.status_code == 200
    result = resp.json()["result"]
    assert len(result) == len(QUERIES)
    for hits, q in zip(result, QUERIES, strict=True):
        assert all(set(h) == {"document", "score"} for h in hits)
        assert all(set(h["document"]) == {"id", "contents", "title", "text"} for h in hits)
        expected = retriever.search(q, 3)
        assert [h["document"]["id"] for h in hits] == [p.id for p in expected]
        assert [h["score"] for h in hits] == pytest.approx([p.score for p in expected])


def test_search_r1_shape_without_scores_and_default_topk(client):
    result = client.post("/retrieve", json={"queries": QUERIES[:1]}).json()["result"]
    assert len(result[0]) == 3 and set(result[0][0]) == {"id", "contents", "title", "text"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"queries": ["ok"], "topk": 0}, 400, "topk"),
        ({"queries": ["ok"], "topk": 100000}, 400, "topk"),
        ({"queries": "ok"}, 422, "queries"),
        ({"topk": 3}, 422, "queries"),
        ({"queries": ["ok"], "topk": "many"}, 422, "topk"),
        ({"queries": ["ok", " ".join(f"t{i}" for i in range(1100))]}, 400, "too many distinct terms"),
    ],
)
def test_bad_requests_get_clear_4xx(client, body, status, message):
    resp = client.post("/retrieve", json=body)
    assert resp.status_code == status
    assert message in resp.json()["detail"]


@pytest.mark.parametrize("content", [b"not json", b"", b"[1, 2]"])
def test_non_json_body_gets_4xx(client, content):
    resp = client.post("/retrieve", content=content, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert "Expected JSON like" in resp.json()["detail"]


def test_health_reports_index_and_cache(client, kb_index):
    client.post("/retrieve", json={"queries": QUERIES[:1]})
    info = client.get("/health").json()
    assert info["status"] == "ok" and info["documents"] == 800 and info["index"] == str(kb_index)
    assert info["cache"]["hits"] >= 1


def test_client_over_http_equals_embedded(served, retriever):
    client = RetrieverClient(served + "/retrieve")
    assert client.health()["documents"] == 800
    assert client.batch_search(QUERIES, 5) == retriever.batch_search(QUERIES, 5)
    assert client.search(QUERIES[0], 2) == retriever.search(QUERIES[0], 2)


def test_client_raises_retriever_error_when_service_is_down(free_port):
    client = RetrieverClient(f"http://127.0.0.1:{free_port}", timeout=2)
    with pytest.raises(RetrieverError, match="unreachable"):
        client.search("anything", 3)
    with pytest.raises(RetrieverError):
        client.health()
