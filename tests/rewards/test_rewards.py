"""Reward functions: one sample at a time, as TRL batches, combined, and never hanging."""

import threading

import pytest

import rewards as R
from envs.core import InfraError


def test_answer_extraction():
    assert R.extract_answer("so <answer> A </answer> and <answer>B</answer>") == "B"
    assert R.extract_answer("thus \\boxed{\\frac{1}{2}}.") == "\\frac{1}{2}"
    assert (
        R.extract_answer(
            '<tool_call>{"name": "answer", "arguments": {"answer": "Paris \\"FR\\""}}</tool_call>'
        )
        == 'Paris "FR"'
    )
    assert R.extract_answer("  plain ") == "plain"
    assert R.completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]) == "a"


def test_exact_match_and_f1():
    assert R.exact_match("<answer>The  Eiffel tower!</answer>", answer="eiffel Tower") == 1.0
    assert R.exact_match("<answer>Paris</answer>", answer=["Lyon", "paris"]) == 1.0
    assert R.exact_match("<answer>Paris, France</answer>", answer="Paris") == 0.0
    assert R.f1_score("<answer>Paris, France</answer>", answer="Paris") == pytest.approx(2 / 3)
    assert R.f1_score("<answer>Lyon</answer>", answer="Paris") == 0.0


def test_numeric_and_math_equivalence():
    assert R.numeric_match("\\boxed{1,000}", answer="1000") == 1.0
    assert R.numeric_match("<answer>0.5</answer>", answer="1/2") == 1.0
    assert R.numeric_match("<answer>50%</answer>", answer="0.5") == 1.0
    assert R.numeric_match("<answer>7</answer>", answer="8") == 0.0
    assert R.math_equiv("\\boxed{\\frac{2}{4}}", answer="0.5") == 1.0
    assert R.math_equiv("<answer>(x+1)^2</answer>", answer="x^2 + 2x + 1") == 1.0
    assert R.math_equiv("<answer>x^2 + 1</answer>", answer="x^2 + 2x + 1") == 0.0
    assert R.math_equiv("<answer></answer>", answer="3") == 0.0


def test_math_equiv_works_off_the_main_thread():
    out = []
    t = threading.Thread(target=lambda: out.append(R.math_equiv("<answer>\\sqrt{4}</answer>", answer="2")))
    t.start()
    t.join(60)
    assert out == [1.0]


def test_a_hanging_verification_is_an_error_not_a_zero(monkeypatch):
    # a tower of powers keeps sympy busy far past any limit: the worker is killed, the caller told
    with pytest.raises(InfraError, match="timed out"):
        R.math_equiv("<answer>9^{9^{9^{9}}}</answer>", answer="x + 2", timeout_s=2.0)
    # the worker is replaced and keeps working after a timeout
    assert R.math_equiv("<answer>\\sqrt{9}</answer>", answer="3") == 1.0
    monkeypatch.setattr(
        R.math._VERIFIER, "equivalent", lambda *a, **k: (_ for _ in ()).throw(InfraError("down"))
    )
    assert R.math_equiv(completions=["<answer>x</answer>"], answer=["y"]) == [None]


def test_trl_batch_calling_convention():
    completions = [
        [{"role": "assistant", "content": "<answer>4</answer>"}],
        [{"role": "assistant", "content": "5"}],
    ]
    scores = R.exact_match(
        prompts=["q", "q"],
        completions=completions,
        completion_ids=[[1], [2]],
        answer=["4", "4"],
        trainer_state=object(),
    )
    assert scores == [1.0, 0.0]
    assert R.exact_match.__name__ == "exact_match"


def test_shaping_rewards():
    assert R.tool_cost("", num_tool_calls=3, cost_per_call=0.1) == pytest.approx(-0.3)
    assert R.length_penalty("x" * 100, max_chars=100) == 0.0
    assert R.length_penalty("x" * 150, max_chars=100) == pytest.approx(-0.5)
    assert R.length_penalty("x" * 500, max_chars=100) == -1.0


def test_combined_rewards_report_their_parts():
    rubric = R.combine({R.exact_match: 1.0, R.length_penalty: 0.5, R.tool_cost: 1.0})
    parts = rubric.parts("<answer>4</answer>", answer="4", num_tool_calls=2, max_chars=12)
    assert parts == {
        "exact_match": 1.0,
        "length_penalty": pytest.approx(-0.5),
        "tool_cost": pytest.approx(-0.04),
        "total": pytest.approx(0.71),
    }
    assert rubric(completions=["<answer>4</answer>", "no"], answer=["4", "4"], num_tool_calls=[1, 0]) == [
        pytest.approx(0.98),
        0.0,
    ]
    with pytest.raises(TypeError):
        R.combine({len: 1.0})


def test_completion_rewards_extract_the_answer_once():
    # <answer> is taken first; a \boxed{} inside it stays part of the answer.
    assert R.exact_match("<answer>\\boxed{Brevan}</answer>", answer="Brevan") == 0.0
    assert R.f1_score("<answer>Bern \\boxed{Zurich}</answer>", answer="Bern") == pytest.approx(2 / 3)
    assert R.answer_exact_match("\\boxed{Brevan}", "Brevan") == 0.0
    assert R.answer_f1("Bern \\boxed{Zurich}", ["Bern"]) == pytest.approx(2 / 3)
    assert R.exact_match("thus \\boxed{Brevan}", answer="Brevan") == 1.0


def test_f1_gives_no_credit_for_hedging_between_closed_set_answers():
    assert R.f1_score("<answer>yes no</answer>", answer="yes") == 0.0
    assert R.f1_score("<answer>yes</answer>", answer="no") == 0.0
    assert R.f1_score("<answer>yes</answer>", answer=["no", "yes"]) == 1.0
    assert R.f1_score("<answer>Paris yes</answer>", answer="Paris") == pytest.approx(2 / 3)
    assert R.f1_score("<answer>red blue</answer>", answer="red", choices=["red", "blue"]) == 0.0
    assert R.f1_score(completions=["<answer>no yes</answer>"], answer=["no"]) == [0.0]
