"""Search-R1's own client against our service: its request, the fields it reads, what it sends.

Search-R1's rollout loop (``search_r1/llm_agent/generation.py``) gathers the text of every
``<search>...</search>`` of a turn (stripped; empty when the tags are empty), posts them all in one
request ``{"queries", "topk", "return_scores": True}``, reads ``response["result"]`` and, from each
hit, ``hit["document"]["contents"]``, which it splits into a title line and the text. A turn in which
no sample searched sends an empty query list. The helpers below do the same, in our words.
"""

import httpx
import pytest
from fastapi.testclient import TestClient

from retrieval import MAX_BATCH
from retrieval.service import DEFAULT_MAX_BATCH, create_app, search_r1_document


def search_r1_batch_search(url: str, queries: list[str], topk: int = 3) -> list[str]:
    """One turn's searches as Search-R1's client runs them: one POST, one formatted string per query."""
    payload = {"queries": queries, "topk": topk, "return_scores": True}
    results = httpx.post(url, json=payload, timeout=120).json()["result"]
    return [passages_to_string(result) for result in results]


def passages_to_string(result: list[dict]) -> str:
    """Search-R1's ``Doc i(Title: ...) text`` lines, built from each hit's ``contents`` only."""
    out = ""
    for i, hit in enumerate(result, 1):
        title, _, text = hit["document"]["contents"].partition("\n")
        out += f"Doc {i}(Title: {title}) {text}\n"
    return out


@pytest.fixture(scope="module")
def questions(kb_index) -> list[str]:
    from envs.search.kb import KBConfig, generate_kb

    kb = generate_kb(KBConfig())
    return [q.question for q in kb.questions(64, (1, 2, 3), seed=0)]


def test_empty_and_blank_queries_get_no_hits_like_search_r1s_server(served):
    strings = search_r1_batch_search(f"{served}/retrieve", ["", "   ", "Bevin Kael"])
    assert strings[0] == strings[1] == ""
    assert strings[2].startswith("Doc 1(Title: ")
    assert search_r1_batch_search(f"{served}/retrieve", []) == []


def test_a_2560_query_turn_as_search_r1s_grpo_script_sends(served, retriever, questions):
    # 512 prompts x 5 samples, as in Search-R1's train_grpo.sh; some samples wrote <search></search>.
    queries = [("" if i % 97 == 0 else questions[i % len(questions)]) for i in range(2560)]
    payload = {"queries": queries, "topk": 3, "return_scores": True}
    result = httpx.post(f"{served}/retrieve", json=payload, timeout=120).json()["result"]
    assert len(result) == 2560
    expected = dict(zip(questions, retriever.batch_search(questions, 3), strict=True))
    for query, hits in zip(queries, result, strict=True):
        if not query:
            assert hits == []
            continue
        assert [h["document"]["id"] for h in hits] == [p.id for p in expected[query]]
        assert [h["score"] for h in hits] == pytest.approx([p.score for p in expected[query]])
    strings = [passages_to_string(hits) for hits in result]
    assert sum(s.count("Doc 3(Title: ") for s in strings) == sum(1 for q in queries if q)


class _Recording:
    """A retriever that remembers the size of every batch it is asked for."""

    def __init__(self, inner):
        self.inner, self.sizes = inner, []

    def search(self, query, topk=3):
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries, topk=3):
        self.sizes.append(len(queries))
        return self.inner.batch_search(queries, topk)


def test_a_large_batch_is_searched_in_slices_and_capped(retriever, questions):
    recording = _Recording(retriever)
    queries = [questions[i % len(questions)] for i in range(2 * MAX_BATCH + 5)]
    with TestClient(create_app(retriever=recording, max_batch=len(queries))) as client:
        resp = client.post("/retrieve", json={"queries": queries, "topk": 2})
        assert resp.status_code == 200
        assert recording.sizes == [MAX_BATCH, MAX_BATCH, 5]
        expected = dict(zip(questions, retriever.batch_search(questions, 2), strict=True))
        result = resp.json()["result"]
        assert [[d["id"] for d in hits] for hits in result] == [[p.id for p in expected[q]] for q in queries]
        too_many = client.post("/retrieve", json={"queries": [*queries, "one more"], "topk": 2})
        assert too_many.status_code == 400 and "--max-batch" in too_many.json()["detail"]
    assert DEFAULT_MAX_BATCH >= 2560


def test_documents_carry_title_and_text_where_the_contents_has_a_title_line():
    from retrieval import Passage

    doc = search_r1_document(Passage("d1", '"Talwick"\nTalwick is a town.\nIt has a mill.', 1.0))
    assert doc == {
        "id": "d1",
        "contents": '"Talwick"\nTalwick is a town.\nIt has a mill.',
        "title": "Talwick",
        "text": "Talwick is a town.\nIt has a mill.",
    }
    assert search_r1_document(Passage("d2", "no title line", 1.0)) == {
        "id": "d2",
        "contents": "no title line",
    }


def test_the_cli_default_is_the_services():
    import inspect

    from agents.cli.search_cmds import serve_command

    default = inspect.signature(serve_command).parameters["max_batch"].default
    assert default == DEFAULT_MAX_BATCH
