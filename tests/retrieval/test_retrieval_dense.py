"""Dense retrieval with the offline MiniLM encoder, and hybrid BM25 + dense fusion."""

import pytest

from envs.search.kb import KBConfig, generate_kb
from retrieval import LuceneRetriever
from retrieval.dense import DenseRetriever, HybridRetriever, build_dense_index
from retrieval.index import build_index

pytestmark = pytest.mark.slow  # loads torch and the encoder (tens of seconds on 2 busy cores)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("dense")
    kb = generate_kb(KBConfig(n_entities=40, distractors=0))
    corpus = kb.write_corpus(root / "corpus.jsonl")
    return kb, build_index(corpus, root / "bm25"), build_dense_index(corpus, root / "dense")


def test_dense_finds_a_passage_from_its_own_words(small):
    kb, _, dense_dir = small
    dense = DenseRetriever(dense_dir)
    for passage in kb.passages()[:10]:
        hits = dense.search(passage["contents"], 3)
        assert hits[0].id == passage["id"] and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert [len(h) for h in dense.batch_search(["a city", "a book"], 2)] == [2, 2]


def test_hybrid_fuses_both_rankings(small):
    kb, bm25_dir, dense_dir = small
    sparse, dense = LuceneRetriever(bm25_dir), DenseRetriever(dense_dir)
    hybrid = HybridRetriever(sparse, dense, depth=10)
    q = kb.questions(1, 1, seed=2)[0]
    hits = hybrid.search(q.question, 3)
    assert len(hits) == 3 and hits == sorted(hits, key=lambda p: -p.score)
    assert q.supporting_ids[0] in {p.id for p in hits}
    with pytest.raises(ValueError, match="depth"):
        HybridRetriever(sparse, dense, depth=0)
