"""Index building: both corpus layouts, clear errors, no half-built index."""

import json

import pytest

from retrieval import LuceneRetriever
from retrieval.index import CorpusFormatError, build_index


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_title_text_corpus_is_indexed_as_search_r1_contents(tmp_path, toolgym_cache):
    corpus = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "a", "title": "Zorblat", "text": "Zorblat is a fictional river."},
            {"id": "b", "title": "Quimby", "text": "Quimby is a fictional town on the river."},
        ],
    )
    index = build_index(corpus, tmp_path / "idx")
    hits = LuceneRetriever(index).search("zorblat river", 2)
    assert [h.id for h in hits] == ["a", "b"]
    assert hits[0].contents == '"Zorblat"\nZorblat is a fictional river.'


def test_existing_index_is_not_overwritten_without_asking(tmp_path, toolgym_cache):
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "contents": "alpha beta"}])
    build_index(corpus, tmp_path / "idx")
    with pytest.raises(FileExistsError, match="overwrite"):
        build_index(corpus, tmp_path / "idx")
    build_index(corpus, tmp_path / "idx", overwrite=True)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "contents": "x"}', "not json"], "c.jsonl:2: not JSON"),
        (['{"title": "t", "text": "x"}'], 'with "id"'),
        (['{"id": "a", "body": "x"}'], 'needs "contents"'),
        ([], "empty"),
    ],
)
def test_bad_corpus_lines_give_clear_errors(tmp_path, lines, message):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(lines))
    # A title/text corpus is converted line by line, so a bad second line is found too.
    if lines and '"contents"' in lines[0]:
        corpus.write_text('{"id": "z", "title": "t", "text": "x"}\n' + "\n".join(lines[1:]))
    with pytest.raises(CorpusFormatError, match=message):
        build_index(corpus, tmp_path / "idx")
    assert not (tmp_path / "idx").exists()


def test_missing_corpus_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="corpus"):
        build_index(tmp_path / "nope.jsonl", tmp_path / "idx")


def test_unknown_prebuilt_index_is_named_without_a_download(tmp_path):
    from retrieval.index import fetch_prebuilt

    with pytest.raises(ValueError, match="unknown prebuilt index 'wikipedia-nope'"):
        fetch_prebuilt("wikipedia-nope", tmp_path / "idx")
    assert not (tmp_path / "idx").exists()
