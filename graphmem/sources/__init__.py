"""Sources: files, folders and Python objects into document and dialogue inputs."""

from graphmem.sources.files import Quarantined, SourceBatch, SourceError, expand, read_file, read_paths
from graphmem.sources.formats import DialogueInput, DocumentInput, SessionInput, TurnInput

__all__ = [
    "DialogueInput",
    "DocumentInput",
    "Quarantined",
    "SessionInput",
    "SourceBatch",
    "SourceError",
    "TurnInput",
    "expand",
    "read_file",
    "read_paths",
]
