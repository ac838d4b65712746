"""``toolgym/SearchQA-v0``: answer a question by searching a corpus (Search-R1 / ReSearch style).

The agent searches with ``<search>query</search>`` (or the JSON ``search`` tool), reads the top-k
passages inside ``<information>...</information>`` and answers in ``<answer>...</answer>``. The reward
is normalized exact match (``reward="em"``) or token F1 (``reward="f1"``) against the gold answers;
F1 is 0 for a closed-set answer (yes, no, noanswer, or one of a QA record's ``choices``) that is not
exactly the gold, as in HotpotQA's scorer, so hedging between options earns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.core import Task, Verdict, check_choice
from envs.search.base import SearchConfig, SearchEnv
from envs.search.qa_data import QAExample
from rewards import answer_exact_match, answer_f1, normalize_answer


@dataclass
class SearchQAConfig(SearchConfig):
    """``reward``: ``"em"`` (exact match) or ``"f1"`` (token F1); success is always an exact match."""

    reward: str = "em"

    def validate(self) -> None:
        super().validate()
        check_choice("reward", self.reward, ("em", "f1"))


class SearchQAEnv(SearchEnv):
    """Multi-hop question answering with a search tool; see the module docstring."""

    config_cls = SearchQAConfig
    config: SearchQAConfig

    def answer_shape(self) -> str:
        return "only the answer: a name, a number or a few words"

    def instructions(self) -> str:
        return (
            "Answer the question. You may search a document collection as many times as you need: "
            "reason about what you still need to know, search for it, and read the passages you get "
            "back. Questions may need several searches, one fact leading to the next. When you know "
            f"the answer, {self.protocol.how_to_answer(self.answer_shape())}, without explanation."
        )

    def make_task(self, task_id: str, example: QAExample) -> Task:
        metadata = {
            "golden_answers": list(example.answers),
            "gold_ids": list(example.gold_ids),
            "question": example.question,
            **example.metadata,
        }
        return Task(
            id=task_id, prompt=f"Question: {example.question}", answer=example.answers[0], metadata=metadata
        )

    def demonstration(self) -> list[str]:
        """A search for each passage the answer needs, in order (the name of each entity on the
        question's chain; the question itself for a QA file), then the answer."""
        meta = self.task.metadata
        if self.config.data_path is None:
            queries = [self.kb.entities[g].name for g in meta["gold_ids"]]
        else:
            queries = [meta["question"]]
        turns = [self.call_turn("search", query=q) for q in queries[: self.episode.max_turns - 1]]
        return turns + self._closing_turns(self.episode.max_turns - len(turns))

    def verify(self, task: Task, answer: str) -> Verdict:
        golds = task.metadata["golden_answers"]
        # ``answer`` is what the protocol extracted: score it as it is, never extract again
        em = answer_exact_match(answer, golds)
        f1 = answer_f1(answer, golds, task.metadata.get("choices"))
        score = em if self.config.reward == "em" else f1
        if em == 1.0:
            return Verdict(score, True, {"correct": 1.0, "exact_match": em, "f1": f1})
        feedback = "empty answer" if not normalize_answer(answer) else "not the gold answer"
        return Verdict(score, False, {"correct": 0.0, "exact_match": em, "f1": f1}, feedback)
