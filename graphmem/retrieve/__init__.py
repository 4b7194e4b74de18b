"""Retrieval over a RetrievalIndex: dense, BM25, Personalized PageRank and their fusion."""

from graphmem.retrieve.core import MODES, Hit, Retrieval, RetrievalConfig, Retriever

__all__ = ["MODES", "Hit", "Retrieval", "RetrievalConfig", "Retriever"]
