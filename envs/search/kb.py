"""A seeded generator of a fictional knowledge base and its 1- to 4-hop questions.

Entities (people, cities, countries, companies, books) have attributes and functional relations
(``born_in``, ``founder``, ``capital`` ...). Each entity is written as one passage holding all its facts,
so a question whose chain follows ``h - 1`` relations and then asks an attribute needs ``h`` passages.
Every name is invented, so no model has seen the answers. ``distractors`` adds passages per entity that
mention it without stating any fact about it, which makes retrieval by name alone harder.
``default_index_dir`` gives a knowledge base's BM25 index, built once into toolgym's cache.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index import META_FILE, build_index

TYPES = ("person", "city", "country", "company", "book")
# Share of each entity type, in the order of TYPES.
_TYPE_SHARES = (0.45, 0.22, 0.05, 0.14, 0.14)

_SYLLABLES = [
    "ka",
    "ro",
    "ven",
    "tal",
    "mi",
    "sor",
    "dun",
    "el",
    "qua",
    "bri",
    "zan",
    "lo",
    "fen",
    "tor",
    "ari",
    "mel",
    "cas",
    "vo",
    "nil",
    "der",
    "sha",
    "gor",
    "lin",
    "ul",
    "pra",
    "tes",
    "vin",
    "oda",
    "rek",
    "mar",
    "sil",
    "bel",
    "ith",
    "ko",
    "nym",
    "pha",
    "dra",
    "zel",
    "quo",
    "ust",
]
_FIRST = [
    "Aldra",
    "Bevin",
    "Corran",
    "Dasha",
    "Elvin",
    "Fenna",
    "Galen",
    "Hesper",
    "Iriel",
    "Jovan",
    "Kestra",
    "Lorcan",
    "Maelis",
    "Nevra",
    "Orrin",
    "Pell",
    "Quenna",
    "Ravel",
    "Soren",
    "Talla",
    "Ulric",
    "Vessa",
    "Wyndal",
    "Xara",
    "Yorick",
    "Zenna",
    "Ambra",
    "Brisk",
    "Calder",
    "Dorin",
]
_CITY_SUFFIX = ("ford", "holm", "mere", "port", "vale", "stead", "gard", "wick", "haven", "crest")
_COUNTRY_SUFFIX = ("ia", "land", "mark", "ora", "stan", "heim", "avia", "enne")
_COMPANY_SUFFIX = ("Works", "Labs", "Holdings", "Foundry", "Collective", "Systems", "Trading", "Guild")
_BOOK_ADJ = [
    "Silent",
    "Crimson",
    "Hollow",
    "Endless",
    "Gilded",
    "Broken",
    "Quiet",
    "Distant",
    "Burning",
    "Frozen",
    "Hidden",
    "Wandering",
]
_BOOK_NOUN = [
    "Harbor",
    "Lantern",
    "Orchard",
    "Meridian",
    "Archive",
    "Tide",
    "Citadel",
    "Compass",
    "Garden",
    "Ember",
    "Atlas",
    "Veil",
]

_ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "occupation": tuple(
        [
            "astronomer",
            "cartographer",
            "glassblower",
            "violinist",
            "botanist",
            "architect",
            "chemist",
            "sculptor",
            "linguist",
            "engineer",
            "historian",
            "beekeeper",
        ]
    ),
    "currency": ("dralk", "venn", "solo", "markel", "quint", "obol", "tarn", "lume"),
    "language": ("Vessic", "Orrinese", "Taldric", "Mirran", "Quellish", "Sornic", "Brevan", "Ulthic"),
    "industry": (
        "shipbuilding",
        "textiles",
        "optics",
        "mining",
        "publishing",
        "robotics",
        "perfume",
        "clockmaking",
    ),
    "genre": ("mystery", "poetry", "satire", "travelogue", "tragedy", "fable", "chronicle", "romance"),
}


@dataclass(frozen=True)
class Relation:
    """A functional relation from one entity type to another, and how passages and questions say it."""

    name: str
    subject: str
    object: str
    sentence: str  # "{s}" subject name, "{o}" object name
    phrase: str  # noun phrase for "the object of {x}"


@dataclass(frozen=True)
class Attribute:
    """An attribute of an entity type: how a passage states it and how a question asks it."""

    name: str
    subject: str
    sentence: str  # "{s}" subject name, "{v}" value
    question: str  # "{x}" noun phrase of the subject


RELATIONS: tuple[Relation, ...] = (
    Relation("born_in", "person", "city", "{s} was born in {o}.", "the city where {x} was born"),
    Relation("employer", "person", "company", "{s} works for {o}.", "the company that employs {x}"),
    Relation("country", "city", "country", "{s} is a city in {o}.", "the country of {x}"),
    Relation("capital", "country", "city", "The capital of {s} is {o}.", "the capital of {x}"),
    Relation("leader", "country", "person", "{s} is led by {o}.", "the leader of {x}"),
    Relation(
        "headquarters",
        "company",
        "city",
        "{s} is headquartered in {o}.",
        "the city where {x} is headquartered",
    ),
    Relation("founder", "company", "person", "{s} was founded by {o}.", "the founder of {x}"),
    Relation("author", "book", "person", "{s} was written by {o}.", "the author of {x}"),
)

ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("birth_year", "person", "{s} was born in the year {v}.", "In what year was {x} born?"),
    Attribute("occupation", "person", "The profession of {s} is {v}.", "What is the occupation of {x}?"),
    Attribute("population", "city", "{s} has a population of {v}.", "What is the population of {x}?"),
    Attribute("founded", "city", "{s} was settled in the year {v}.", "In what year was {x} settled?"),
    Attribute("currency", "country", "The currency of {s} is the {v}.", "What is the currency of {x}?"),
    Attribute(
        "language", "country", "The official language of {s} is {v}.", "What is the official language of {x}?"
    ),
    Attribute("established", "company", "{s} was established in {v}.", "In what year was {x} established?"),
    Attribute(
        "industry", "company", "{s} operates in the {v} industry.", "In which industry does {x} operate?"
    ),
    Attribute(
        "published", "book", "{s} was first published in {v}.", "In what year was {x} first published?"
    ),
    Attribute("genre", "book", "{s} is a work of {v}.", "What genre is {x}?"),
)

_NAME_QUESTION = "What is the name of {x}?"

_DISTRACTOR_TEMPLATES = (
    "A documentary about {a} was screened at a festival alongside a film about {b}.",
    "Critics have compared {a} with {b}, though the two have little in common.",
    "{a} and {b} were both mentioned in a travel guide printed last spring.",
    "An exhibition in a small gallery featured photographs of {a} and of {b}.",
    "Online forums often confuse {a} with {b} because of a popular quiz.",
)


@dataclass
class KBConfig:
    """Size and difficulty of a generated knowledge base (the same config always gives the same KB)."""

    seed: int = 0
    n_entities: int = 400
    distractors: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"KBConfig.seed must be an int >= 0, got {self.seed!r}")
        if not isinstance(self.n_entities, int) or not 40 <= self.n_entities <= 2_000_000:
            raise ValueError(f"KBConfig.n_entities must be an int in [40, 2000000], got {self.n_entities!r}")
        if not isinstance(self.distractors, int) or not 0 <= self.distractors <= 20:
            raise ValueError(f"KBConfig.distractors must be an int in [0, 20], got {self.distractors!r}")

    def key(self) -> str:
        """A short name for caches: the same config always has the same key."""
        return f"kb-s{self.seed}-n{self.n_entities}-d{self.distractors}"


@dataclass
class Entity:
    """One fictional entity: its passage id, type, name, attribute values and relation targets (ids)."""

    id: str
    type: str
    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    relations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """A generated question with its answer, hop count and the passages needed to answer it."""

    question: str
    answer: str
    hops: int
    supporting_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Search-R1's QA line shape, with the hop count and the gold passages added."""
        return {
            "question": self.question,
            "golden_answers": [self.answer],
            "hops": self.hops,
            "supporting_ids": list(self.supporting_ids),
        }


class KnowledgeBase:
    """Generated entities, their passages and a question sampler. Build with ``generate_kb(config)``."""

    def __init__(
        self, config: KBConfig, entities: dict[str, Entity], distractor_passages: list[dict[str, str]]
    ):
        self.config = config
        self.entities = entities
        self._distractors = distractor_passages
        self._by_type: dict[str, list[str]] = {t: [] for t in TYPES}
        for eid, ent in entities.items():
            self._by_type[ent.type].append(eid)
        self._relations_of = {t: [r for r in RELATIONS if r.subject == t] for t in TYPES}
        self._attributes_of = {t: [a for a in ATTRIBUTES if a.subject == t] for t in TYPES}

    def entity_passage(self, entity: Entity) -> dict[str, str]:
        """The passage of one entity, in Search-R1's ``{"id", "contents"}`` form (title on the first line)."""
        sentences = []
        for attr in self._attributes_of[entity.type]:
            sentences.append(attr.sentence.format(s=entity.name, v=entity.attributes[attr.name]))
        for rel in self._relations_of[entity.type]:
            target = self.entities[entity.relations[rel.name]]
            sentences.append(rel.sentence.format(s=entity.name, o=target.name))
        return {"id": entity.id, "contents": f'"{entity.name}"\n' + " ".join(sentences)}

    def passages(self) -> list[dict[str, str]]:
        """Every passage: one per entity, then the distractors."""
        return [self.entity_passage(e) for e in self.entities.values()] + list(self._distractors)

    def __len__(self) -> int:
        return len(self.entities) + len(self._distractors)

    def write_corpus(self, path: str | Path) -> Path:
        """Write the passages as JSONL (``{"id", "contents"}`` per line), the input of ``index build``.

        Lines are in passage-id order, so the index's documents are too and Lucene's own tie-breaking
        (by document number) equals pyserini's (by id): the retriever then needs no deeper search.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for passage in sorted(self.passages(), key=lambda p: p["id"]):
                f.write(json.dumps(passage, ensure_ascii=False) + "\n")
        return path

    def sample_question(self, rng: np.random.Generator, hops: int) -> Question:
        """A question that needs ``hops`` passages (1 to 4), drawn with ``rng``."""
        if not isinstance(hops, int) or not 1 <= hops <= 4:
            raise ValueError(f"hops must be an int in [1, 4], got {hops!r}")
        for _ in range(1000):
            question = self._try_question(rng, hops)
            if question is not None:
                return question
        raise RuntimeError(f"no {hops}-hop question without a cycle found; use a larger n_entities")

    def _try_question(self, rng: np.random.Generator, hops: int) -> Question | None:
        """One draw of a question; None when the relation chain came back to an entity already on it."""
        ask_name = hops >= 2 and rng.random() < 0.3
        n_rel = hops if ask_name else hops - 1
        start_types = [t for t in TYPES if self._by_type[t]]
        current = self.entities[self._pick(rng, self._by_type[str(rng.choice(start_types))])]
        phrase = current.name
        chain = [current.id]
        for _ in range(n_rel):
            rel = self._relations_of[current.type][int(rng.integers(len(self._relations_of[current.type])))]
            current = self.entities[current.relations[rel.name]]
            if current.id in chain:
                return None
            phrase = rel.phrase.format(x=phrase)
            chain.append(current.id)
        if ask_name:
            # The last entity's name is stated in the previous passage: n_rel passages are needed.
            return Question(_NAME_QUESTION.format(x=phrase), current.name, hops, tuple(chain[:-1]))
        attrs = self._attributes_of[current.type]
        attr = attrs[int(rng.integers(len(attrs)))]
        question = attr.question.format(x=phrase)
        return Question(question[0].upper() + question[1:], current.attributes[attr.name], hops, tuple(chain))

    def questions(self, n: int, hops: int | tuple[int, ...] = (1, 2, 3, 4), seed: int = 0) -> list[Question]:
        """``n`` questions, hop counts drawn from ``hops``, from a generator seeded with ``seed``."""
        rng = np.random.default_rng(seed)
        choices = (hops,) if isinstance(hops, int) else tuple(hops)
        return [self.sample_question(rng, int(rng.choice(choices))) for _ in range(n)]

    @staticmethod
    def _pick(rng: np.random.Generator, ids: list[str]) -> str:
        return ids[int(rng.integers(len(ids)))]


def _unique_names(rng: np.random.Generator, n: int, make) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    tries = 0
    while len(names) < n:
        name = make(rng)
        tries += 1
        if name not in seen:
            seen.add(name)
            names.append(name)
        elif tries > 50 * n + 1000:
            raise RuntimeError(f"cannot make {n} unique names; lower n_entities")
    return names


def _word(rng: np.random.Generator, lo: int, hi: int) -> str:
    k = int(rng.integers(lo, hi + 1))
    return "".join(_SYLLABLES[int(i)] for i in rng.integers(len(_SYLLABLES), size=k)).capitalize()


_NAMERS = {
    "person": lambda r: f"{_FIRST[int(r.integers(len(_FIRST)))]} {_word(r, 2, 3)}",
    "city": lambda r: _word(r, 1, 2) + _CITY_SUFFIX[int(r.integers(len(_CITY_SUFFIX)))],
    "country": lambda r: _word(r, 1, 2) + _COUNTRY_SUFFIX[int(r.integers(len(_COUNTRY_SUFFIX)))],
    "company": lambda r: f"{_word(r, 2, 3)} {_COMPANY_SUFFIX[int(r.integers(len(_COMPANY_SUFFIX)))]}",
    "book": lambda r: (
        f"The {_BOOK_ADJ[int(r.integers(len(_BOOK_ADJ)))]} {_BOOK_NOUN[int(r.integers(len(_BOOK_NOUN)))]} "
        f"of {_word(r, 2, 3)}"
    ),
}


def _attribute_value(rng: np.random.Generator, attr: str) -> str:
    if attr in _ATTRIBUTE_VALUES:
        values = _ATTRIBUTE_VALUES[attr]
        return values[int(rng.integers(len(values)))]
    if attr == "population":
        return f"{int(rng.integers(2, 900)) * 1000 + int(rng.integers(1000)):,}"
    return str(int(rng.integers(1200, 2020)))  # every year-valued attribute


def generate_kb(config: KBConfig | None = None) -> KnowledgeBase:
    """Generate the knowledge base of ``config`` (the same config always gives the same KB)."""
    config = config or KBConfig()
    rng = np.random.default_rng(config.seed)
    counts = {
        t: max(2, int(round(share * config.n_entities))) for t, share in zip(TYPES, _TYPE_SHARES, strict=True)
    }
    entities: dict[str, Entity] = {}
    by_type: dict[str, list[str]] = {}
    for t in TYPES:
        ids = [f"{t}-{i:07d}" for i in range(counts[t])]
        for eid, name in zip(ids, _unique_names(rng, counts[t], _NAMERS[t]), strict=True):
            entities[eid] = Entity(eid, t, name)
        by_type[t] = ids
    for ent in entities.values():
        for attr in ATTRIBUTES:
            if attr.subject == ent.type:
                ent.attributes[attr.name] = _attribute_value(rng, attr.name)
        for rel in RELATIONS:
            if rel.subject == ent.type:
                targets = by_type[rel.object]
                ent.relations[rel.name] = targets[int(rng.integers(len(targets)))]
    # A country's capital lies in that country.
    for cid in by_type["country"]:
        entities[entities[cid].relations["capital"]].relations["country"] = cid
    all_ids = list(entities)
    distractors = []
    for i in range(config.distractors * len(all_ids)):
        a = entities[all_ids[i % len(all_ids)]]
        b = entities[all_ids[int(rng.integers(len(all_ids)))]]
        text = _DISTRACTOR_TEMPLATES[int(rng.integers(len(_DISTRACTOR_TEMPLATES)))].format(a=a.name, b=b.name)
        distractors.append({"id": f"note-{i:07d}", "contents": f'"{a.name} and {b.name}"\n{text}'})
    return KnowledgeBase(config, entities, distractors)


def config_json(config: KBConfig) -> str:
    """The config as JSON, stored next to a generated corpus."""
    return json.dumps(asdict(config), sort_keys=True)


def cache_dir() -> Path:
    """toolgym's cache: env ``TOOLGYM_CACHE``, default ``~/.cache/toolgym``."""
    return Path(os.environ.get("TOOLGYM_CACHE") or Path.home() / ".cache" / "toolgym")


def default_index_dir(config: KBConfig | None = None) -> Path:
    """The BM25 index of a generated knowledge base (default config unless given), built on first use.

    Later calls, from any process, reuse it; a file lock makes concurrent first uses build it once.
    """
    config = config or KBConfig()
    root = cache_dir() / "search" / config.key()
    index = root / "index"
    if (index / META_FILE).is_file():
        return index
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (index / META_FILE).is_file():
            corpus = generate_kb(config).write_corpus(root / "corpus.jsonl")
            (root / "config.json").write_text(config_json(config))
            build_index(corpus, index, overwrite=True)
    return index
