"""The generated knowledge base: seeded, answerable questions, hop counts, config errors, its index."""

import numpy as np
import pytest

from envs.search.kb import KBConfig, default_index_dir, generate_kb
from retrieval import LuceneRetriever


def test_same_config_same_kb_and_other_seed_other_kb():
    a, b = generate_kb(KBConfig(seed=3)), generate_kb(KBConfig(seed=3))
    assert a.passages() == b.passages()
    assert a.questions(20, seed=1) == b.questions(20, seed=1)
    assert generate_kb(KBConfig(seed=4)).passages() != a.passages()


def test_passage_ids_are_unique_and_distractors_scale():
    kb0 = generate_kb(KBConfig(n_entities=200, distractors=0))
    kb2 = generate_kb(KBConfig(n_entities=200, distractors=2))
    ids = [p["id"] for p in kb2.passages()]
    assert len(ids) == len(set(ids))
    assert len(kb2) == len(kb0) + 2 * len(kb0.entities)


@pytest.mark.parametrize("hops", [1, 2, 3, 4])
def test_questions_need_their_passages_and_are_answered_by_the_last(hops):
    kb = generate_kb()
    by_id = {p["id"]: p["contents"] for p in kb.passages()}
    for q in kb.questions(40, hops, seed=hops):
        assert q.hops == hops == len(q.supporting_ids) == len(set(q.supporting_ids))
        # The answer is stated in the last supporting passage; the first passage's title is named
        # in the question; each next entity is named in the previous passage.
        assert q.answer in by_id[q.supporting_ids[-1]]
        first_title = by_id[q.supporting_ids[0]].split("\n")[0].strip('"')
        assert first_title in q.question
        for prev, nxt in zip(q.supporting_ids, q.supporting_ids[1:], strict=False):
            assert kb.entities[nxt].name in by_id[prev]


def test_sampling_uses_the_given_generator():
    kb = generate_kb()
    q1 = kb.sample_question(np.random.default_rng(5), 3)
    q2 = kb.sample_question(np.random.default_rng(5), 3)
    assert q1 == q2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"n_entities": 5}, "n_entities"), ({"distractors": -1}, "distractors"), ({"seed": -2}, "seed")],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        KBConfig(**kwargs)


def test_bad_hops_is_rejected():
    with pytest.raises(ValueError, match="hops"):
        generate_kb().sample_question(np.random.default_rng(0), 5)


def test_default_index_is_built_once_and_reused(kb_index):
    stamp = (kb_index / "toolgym_index.json").stat().st_mtime_ns
    assert default_index_dir() == kb_index
    assert (kb_index / "toolgym_index.json").stat().st_mtime_ns == stamp
    assert len(LuceneRetriever(kb_index)) == 800
