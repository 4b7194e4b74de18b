"""Ingestion speed against the bare model work on the same texts, measured in one run.

    python -m graphmem.bench.ingest ../shared/bench/musique/corpus.jsonl [--store PATH|neo4j]

Ingests a documents JSONL into a fresh store, then times spaCy parsing the same passages
and MiniLM encoding the same passage, entity and fact texts (no cache), and prints:
words/s end to end, the ratio wall / model work, the entity count after resolution, and a
sample of merged aliases.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path

from graphmem.embed import CachedEmbedder, SentenceTransformerEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.ingest import IngestConfig, fact_text
from graphmem.memory import Memory
from graphmem.passage_records import embedding_text
from graphmem.records import Entity, Fact, Passage
from graphmem.resolve import normalise_key
from graphmem.sources import read_paths
from graphmem.store import EmbeddedStore, GraphStore, open_store


def model_seconds(extractor: SpacyExtractor, passages: list[str], names: list[str], facts: list[str]) -> dict:
    """Time the bare model work: a spaCy parse of every passage, a fresh MiniLM encode of every text."""
    started = time.perf_counter()
    for _ in extractor.nlp.pipe(passages, batch_size=extractor.batch_size):
        pass
    parse = time.perf_counter() - started
    embedder = SentenceTransformerEmbedder()
    embedder.encode(["warm up"])
    started = time.perf_counter()
    for texts in (passages, names, facts):
        embedder.encode(texts)
    return {"spacy": parse, "minilm": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--store", help="store file or 'neo4j' (default: a fresh temporary file)")
    parser.add_argument("--limit", type=int, help="ingest only the first N documents")
    parser.add_argument("--workers", type=int, default=IngestConfig.extraction_workers,
                        help="spaCy worker processes (0: parse in the main process)")
    args = parser.parse_args()
    batch = read_paths([args.corpus])
    documents = batch.documents[: args.limit] if args.limit else batch.documents
    words = sum(len(d.text.split()) + len((d.title or "").split()) for d in documents)
    with tempfile.TemporaryDirectory() as tmp:
        store: GraphStore = open_store(args.store) if args.store else EmbeddedStore(Path(tmp) / "bench.sqlite3")
        namespace = f"bench-{uuid.uuid4().hex[:8]}"
        extractor = SpacyExtractor()
        extractor.nlp("warm up")
        embedder = CachedEmbedder(SentenceTransformerEmbedder(), Path(tmp) / "embeddings.sqlite3")
        embedder.encode(["warm up"])
        config = IngestConfig(extraction_workers=args.workers)
        memory = Memory(store, namespace, extractor=extractor, embedder=embedder, config=config, progress=True)
        started = time.perf_counter()
        report = memory.add_documents(documents)
        wall = time.perf_counter() - started
        encoded = embedder.misses
        again = memory.add_documents(documents)
        passages = [embedding_text(p) for p in memory.records("Passage") if isinstance(p, Passage)]
        entities = [e for e in memory.records("Entity") if isinstance(e, Entity)]
        facts = [f for f in memory.records("Fact") if isinstance(f, Fact)]
        names = [e.name for e in entities if e.type not in ("DATE", "TIME") and len(e.name) >= 3]
        models = model_seconds(extractor, passages, names, [fact_text(f) for f in facts])
        counts = store.counts(namespace)
        duplicate_keys = len([e.key for e in entities]) - len({e.key for e in entities})
        if args.store:
            store.delete_namespace(namespace)
        memory.close()
    bare = models["spacy"] + models["minilm"]
    print(f"\n{args.corpus}: {len(documents):,} documents, {len(passages):,} passages, {words:,} words, "
          f"store {store!r}")  # fmt: skip
    print(f"ingestion wall {wall:.1f} s = {words / wall:,.0f} words/s; stages: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(report.stage_seconds.items())))  # fmt: skip
    print(f"bare model work {bare:.1f} s (spaCy {models['spacy']:.1f} s, MiniLM {models['minilm']:.1f} s "
          f"on {len(passages):,} passages + {len(names):,} names + {len(facts):,} facts)")  # fmt: skip
    print(f"ratio wall / model work = {wall / bare:.3f}; texts the model encoded during ingestion: {encoded:,}")
    print(f"re-ingest: {again.unchanged} unchanged, {again.nodes_written} nodes and {again.edges_written} "
          "edges written")  # fmt: skip
    print(f"graph: {counts.total_nodes:,} nodes {dict(sorted(counts.nodes.items()))}; "
          f"{counts.total_edges:,} edges {dict(sorted(counts.edges.items()))}")  # fmt: skip
    print(f"entities after resolution: {len(entities):,}; duplicate normalised keys: {duplicate_keys}")
    merged = [e for e in entities if len({normalise_key(a) for a in e.aliases}) > 1]
    print(f"entities with aliases of different keys (fuzzy merges): {len(merged)}; sample:")
    for e in random.Random(1).sample(merged, min(12, len(merged))):
        print(f"  {e.name!r} <- {sorted(e.aliases)[:5]}")


if __name__ == "__main__":
    main()
