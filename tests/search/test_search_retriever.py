"""The embedded retriever ranks exactly as pyserini's LuceneSearcher; batches, cache and bad input."""

import pytest

from envs.search.kb import generate_kb
from envs.search.retriever import CachedRetriever, Retriever, get_retriever


@pytest.fixture(scope="module")
def queries():
    kb = generate_kb()
    names = [e.name for e in list(kb.entities.values())[::37]]
    return [q.question for q in kb.questions(150, seed=7)] + names + ["the of a", "Linlinavia venn currency"]


def test_same_ranking_as_pyserini_lucene_searcher(retriever, kb_index, queries):
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(str(kb_index))
    for q in queries:
        for k in (3, 10):
            ours = retriever.search(q, k)
            theirs = searcher.search(q, k=k)
            assert [p.id for p in ours] == [h.docid for h in theirs], (q, k)
            assert [round(p.score, 3) for p in ours] == pytest.approx([h.score for h in theirs], abs=2e-3)
        for p in ours[:2]:
            assert p.contents == searcher.doc(p.id).contents()


def test_queries_include_score_ties_across_the_cut(retriever, queries):
    """The ranking tests above cover tie-breaking by id: many queries tie at the 3rd place."""
    tied = [q for q in queries if len(h := retriever.search(q, 10)) > 3 and h[2].score == h[3].score]
    assert len(tied) >= 10


def test_preloaded_and_fetched_passages_are_the_same(retriever, kb_index, queries):
    from envs.search.retriever import LuceneRetriever

    fetched = LuceneRetriever(kb_index, preload_max_docs=0)  # each hit's fields read from Lucene
    for k in (1, 3, 10):
        assert fetched.batch_search(queries, k) == retriever.batch_search(queries, k)
    with pytest.raises(ValueError, match="preload_max_docs"):
        LuceneRetriever(kb_index, preload_max_docs=-1)


def test_batch_equals_one_by_one(retriever, queries):
    batch = retriever.batch_search(queries[:40], 3)
    assert batch == [retriever.search(q, 3) for q in queries[:40]]
    assert all(len(hits) == 3 for hits in batch[:30])


def test_only_stopwords_give_no_passages(retriever):
    assert retriever.search("the of a", 3) == []


@pytest.mark.parametrize(
    ("queries", "topk", "message"),
    [
        ([], 3, "1 to 1024"),
        (["ok", "  "], 3, r"queries\[1\]"),
        (["ok"], 0, "topk"),
        (["ok"], 101, "topk"),
        ("a string", 3, "list"),
        (["ok"] * 1025, 3, "1 to 1024"),
    ],
)
def test_bad_requests_raise_value_error(retriever, queries, topk, message):
    with pytest.raises(ValueError, match=message):
        retriever.batch_search(queries, topk)


def test_cache_returns_the_same_and_counts_hits(retriever, queries):
    cached = CachedRetriever(retriever, size=4)
    first = cached.batch_search(queries[:3], 3)
    again = cached.batch_search(queries[:3] + queries[:1], 3)
    assert again == first + first[:1] == retriever.batch_search(queries[:3] + queries[:1], 3)
    assert (cached.hits, cached.misses) == (4, 3)
    cached.batch_search(queries[3:8], 3)
    assert len(cached._cache) == 4


def test_get_retriever_shares_one_embedded_retriever(kb_index, monkeypatch):
    monkeypatch.delenv("TOOLGYM_RETRIEVER_URL", raising=False)
    r1, r2 = get_retriever(index_dir=kb_index), get_retriever()
    assert r1 is r2 and isinstance(r1, Retriever)


def test_get_retriever_gives_a_client_for_a_url(monkeypatch):
    from envs.search.retriever import RetrieverClient

    monkeypatch.setenv("TOOLGYM_RETRIEVER_URL", "http://127.0.0.1:9/retrieve")
    client = get_retriever()
    assert isinstance(client, RetrieverClient) and client.url == "http://127.0.0.1:9"


def test_lucene_threads_give_the_same_ranking(retriever, kb_index, queries):
    from envs.search.retriever import LuceneRetriever

    threaded = LuceneRetriever(kb_index, threads=2)
    assert threaded.batch_search(queries[:20], 5) == retriever.batch_search(queries[:20], 5)
    with pytest.raises(ValueError, match="threads"):
        LuceneRetriever(kb_index, threads=0)
