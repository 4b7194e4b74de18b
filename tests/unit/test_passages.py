from __future__ import annotations

from itertools import pairwise

from graphmem.passages import chunk_spans, sentences, split_passages

TEXT = (
    "Ada Lovelace was a mathematician. She worked with Charles Babbage on the Analytical Engine!\n\n"
    "Her notes include an algorithm. \"It is often called the first program,\" wrote one historian. "
    "She died in 1852.\n\n"
    "Short para."
)


def test_sentences_have_exact_offsets() -> None:
    got = [TEXT[s.start : s.end] for s in sentences(TEXT)]
    assert got[0] == "Ada Lovelace was a mathematician."
    assert got[1] == "She worked with Charles Babbage on the Analytical Engine!"
    assert got[3] == '"It is often called the first program," wrote one historian.'
    assert "She died in 1852." in got


def test_passages_are_exact_slices_with_stable_ids() -> None:
    chunks = split_passages("doc-1", TEXT, max_words=12)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert TEXT[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert split_passages("doc-1", TEXT, max_words=12) == chunks
    assert split_passages("doc-2", TEXT, max_words=12)[0].id != chunks[0].id


def test_whole_text_is_covered_without_overlap() -> None:
    spans = chunk_spans(TEXT, max_words=12)
    assert all(a.end <= b.start for a, b in pairwise(spans))
    covered = "".join(TEXT[s.start : s.end] for s in spans)
    assert covered.replace(" ", "").replace("\n", "") == TEXT.replace(" ", "").replace("\n", "")


def test_repeated_paragraphs_get_distinct_ids() -> None:
    text = "Same words here.\n\n" * 3
    chunks = split_passages("d", text, max_words=3)
    assert len(chunks) == 3 and len({c.id for c in chunks}) == 3


def test_run_on_text_without_punctuation_is_cut_into_bounded_pieces() -> None:
    text = "word " * 5_000
    chunks = split_passages("d", text, max_words=150)
    assert max(len(c.text) for c in chunks) <= 4_000
    assert sum(len(c.text.split()) for c in chunks) == 5_000
