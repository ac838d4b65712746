"""Episodes of SearchQA-v0 and QueryRewrite-v0 end to end, QA files, and a retriever outage."""

import json
import re

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.search.qa_data import load_qa


@pytest.fixture
def qa_env(kb_index):
    env = gym.make("toolgym/SearchQA-v0", min_hops=2, max_hops=2)
    yield env
    env.close()


def test_search_qa_episode_follows_two_hops_to_the_answer(qa_env):
    obs, info = qa_env.reset(seed=3)
    env = qa_env.unwrapped
    task = env.task
    assert obs.startswith("Question:") and "<search>" in info["messages"][0]["content"]
    kb = env.kb
    first, second = (kb.entities[i] for i in task.metadata["gold_ids"])
    # Hop 1: search the entity named in the question; the passage names the next entity.
    obs, reward, terminated, truncated, info = qa_env.step(
        f"I should look it up. <search>{first.name}</search>"
    )
    assert not (terminated or truncated) and reward == 0.0
    assert obs.startswith("<information>") and obs.rstrip().endswith("</information>")
    assert first.id in info["retrieved"] and second.name in obs
    assert info["messages"] == [{"role": "user", "content": obs}]
    # Hop 2: search the next entity; its passage holds the answer.
    obs, _, _, _, info = qa_env.step(f"<search>{second.name}</search>")
    assert second.id in info["retrieved"] and task.answer in obs
    obs, reward, terminated, _, info = qa_env.step(f"<answer>{task.answer}</answer>")
    assert terminated and reward == 1.0 and info["is_success"] is True
    assert info["reward_components"]["exact_match"] == 1.0


def test_search_qa_json_protocol_and_f1_reward(kb_index):
    env = gym.make("toolgym/SearchQA-v0", protocol="json", reward="f1", max_turns=3)
    obs, info = env.reset(seed=11)
    assert {t["function"]["name"] for t in info["tools"]} == {"search", "answer"}
    obs, _, _, _, info = env.step(env.unwrapped.call_turn("search", query=obs))
    assert obs.startswith("<tool_response>") and info["messages"][0]["role"] == "tool"
    assert "Doc 1(Title:" in info["messages"][0]["content"]
    _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(f"it is {env.unwrapped.task.answer}"))
    assert terminated and info["is_success"] is False and 0.0 < reward < 1.0
    assert reward == pytest.approx(info["reward_components"]["f1"])


def test_search_qa_turn_limit_ends_the_episode(kb_index):
    env = gym.make("toolgym/SearchQA-v0", max_turns=1)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("<search>anything at all</search>")
    assert truncated and not terminated and info["is_success"] is False and reward == 0.0


def test_query_rewrite_episode_reward_is_recall(kb_index):
    env = gym.make("toolgym/QueryRewrite-v0", max_hops=2, min_hops=2, recall_k=5)
    obs, _ = env.reset(seed=5)
    task = env.unwrapped.task
    assert len(task.metadata["gold_ids"]) == 2 and "Information need" in obs
    first = env.unwrapped.kb.entities[task.metadata["gold_ids"][0]]
    _, _, _, _, info = env.step(f"<search>{first.name}</search>")
    assert first.id in info["retrieved"]
    # A query naming only the first entity finds half of the gold passages.
    _, reward, terminated, _, info = env.step(f"<answer>{first.name}</answer>")
    assert terminated and reward == 0.5 and info["is_success"] is False
    assert info["reward_components"]["recall"] == 0.5
    env.reset(seed=5)
    _, reward, _, _, info = env.step(env.unwrapped.answer_turn(task.answer))
    assert reward == 1.0 and info["is_success"] is True


def test_query_rewrite_reference_queries_reach_full_recall(kb_index):
    env = gym.make("toolgym/QueryRewrite-v0").unwrapped
    for seed in range(60):
        env.reset(seed=seed)
        assert env.recall(env.task, env.task.answer) == 1.0, env.task


def test_retriever_outage_is_an_infra_error_not_a_zero(kb_index):
    env = gym.make("toolgym/SearchQA-v0", retriever_url="http://127.0.0.1:9")
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("<search>anything</search>")
    assert truncated and "unreachable" in info["error"] and info["is_success"] is None
    assert obs.startswith("Infrastructure error")


def test_qa_file_drives_the_env(tmp_path, kb_index):
    rows = [
        {"id": "n1", "question": "In what year was Bevin Kael born?", "golden_answers": ["1739"]},
        {"question": "Where was Bevin Kael born?", "answer": "Uststead", "data_source": "toy"},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = gym.make("toolgym/SearchQA-v0", data_path=str(path), index_dir=str(kb_index))
    obs, info = env.reset(options={"task_id": "qa/1"})
    assert info["task_id"] == "qa/1" and "Where was Bevin Kael born?" in obs
    obs, *_ = env.step("<search>Bevin Kael</search>")
    assert "Uststead" in obs
    _, reward, *_ = env.step("<answer>uststead.</answer>")
    assert reward == 1.0


def test_qa_file_needs_its_corpus(tmp_path):
    with pytest.raises(ValueError, match="index_dir or retriever_url"):
        gym.make("toolgym/SearchQA-v0", data_path=str(tmp_path / "x.jsonl"))


def test_load_qa_reads_search_r1_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": ["train_0", "train_1"],
            "question": ["who wrote it?", "when?"],
            "golden_answers": [["Ann", "Anne"], ["1900"]],
            "data_source": ["nq", "nq"],
        }
    )
    pq.write_table(table, tmp_path / "nq.parquet")
    examples = load_qa(tmp_path / "nq.parquet")
    assert [e.answers for e in examples] == [("Ann", "Anne"), ("1900",)]
    assert examples[0].id == "train_0" and examples[0].metadata == {"data_source": "nq"}


def test_load_qa_reads_processed_search_r1_rows_and_rejects_bad_ones(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(
        json.dumps({"question": "q?", "reward_model": {"ground_truth": {"target": ["x"]}}}) + "\n"
    )
    assert load_qa(path)[0].answers == ("x",)
    path.write_text(json.dumps({"question": "q?"}) + "\n")
    with pytest.raises(ValueError, match=re.escape("qa.jsonl:1")):
        load_qa(path)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"topk": 0}, "topk"),
        ({"max_hops": 5}, "max_hops"),
        ({"reward": "bleu"}, "reward"),
        ({"kb_entities": 3}, "n_entities"),
    ],
)
def test_bad_kwargs_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        gym.make("toolgym/SearchQA-v0", **kwargs)


def _verdict(reward, answer, golds, **metadata):
    from envs.core import Task

    env = gym.make("toolgym/SearchQA-v0", reward=reward).unwrapped
    task = Task(id="t", prompt="Question: ?", answer=golds[0], metadata={"golden_answers": golds, **metadata})
    return env.verify(task, answer)


def test_search_qa_extracts_the_answer_once():
    # The protocol already took the answer out of <answer>; a \boxed{} inside it is part of the answer.
    boxed = _verdict("em", "\\boxed{Brevan}", ["Brevan"])
    assert boxed.score == 0.0 and boxed.success is False and boxed.parts["exact_match"] == 0.0
    hedged = _verdict("f1", "Bern \\boxed{Zurich}", ["Bern"])
    assert hedged.parts["exact_match"] == 0.0 and 0.0 < hedged.score < 1.0
    assert _verdict("em", "Brevan", ["Brevan"]).score == 1.0


def test_search_qa_episode_scores_the_answer_once():
    env = gym.make("toolgym/SearchQA-v0")
    env.reset(seed=0)
    gold = env.unwrapped.task.answer
    _, reward, terminated, _, info = env.step(f"<answer>\\boxed{{{gold}}}</answer>")
    assert terminated and reward == 0.0 and info["reward_components"]["exact_match"] == 0.0


@pytest.mark.parametrize(
    "answer, golds, choices",
    [
        ("yes no", ["yes"], None),
        ("no, yes", ["no"], None),
        ("yes", ["no"], None),
        ("yes it is", ["yes"], None),
        ("Brevan", ["no"], None),
        ("noanswer", ["Brevan"], None),
        ("red or blue", ["red"], ["red", "blue", "green"]),
        ("red", ["blue"], ["red", "blue", "green"]),
    ],
)
def test_search_qa_f1_gives_no_credit_for_hedging_on_a_closed_set(answer, golds, choices):
    metadata = {} if choices is None else {"choices": choices}
    verdict = _verdict("f1", answer, golds, **metadata)
    assert verdict.score == 0.0 and verdict.parts["f1"] == 0.0 and verdict.success is False


def test_search_qa_f1_closed_set_answers_still_score_when_exact():
    assert _verdict("f1", "Yes.", ["yes"]).score == 1.0
    assert _verdict("f1", "the red", ["red"], choices=["red", "blue"]).score == 1.0
    # Open answers keep partial credit.
    assert 0.0 < _verdict("f1", "red house", ["red"]).score < 1.0


def test_qa_file_choices_make_a_closed_set(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"question": "Which?", "answer": "red", "choices": ["red", "blue"]}) + "\n")
    (example,) = load_qa(str(path))
    assert example.metadata["choices"] == ["red", "blue"]


def test_a_retriever_url_in_the_environment_is_used_without_building_an_index(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLGYM_RETRIEVER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TOOLGYM_CACHE", str(tmp_path))
    env = gym.make("toolgym/SearchQA-v0")
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("<search>anything</search>")
    assert truncated and "unreachable" in info["error"] and info["is_success"] is None
    assert list(tmp_path.iterdir()) == []  # no knowledge-base index was built for it
