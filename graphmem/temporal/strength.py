"""Memory strength, after MemoryBank's forgetting curve (Zhong et al., 2023): what was said long ago and
once fades; what was said recently, or said again and again, stays strong.

    strength = 2 ** (-age / (half_life * (1 + gain * (n - 1))))

``age`` is the time since the fact or passage was last stated (``now`` minus its latest date, never below
zero), ``n`` how many times it was stated (its provenance entries; the first statement counts, so ``n`` ≥ 1)
and ``half_life`` the age at which a thing said once has half its strength. Each restatement lengthens the
half-life by ``gain`` half-lives, as MemoryBank's strength S grows by one with each recall. Strength is 1
when just said and falls towards 0, monotone in age and rising with ``n``. A thing with no date has
strength ``undated`` (1 by default: nothing to decay from).

For retrieval (``RetrievalConfig.recency_weight`` = w > 0) each passage or turn gets a strength from its own
date (``Unit.timestamp``: the document date or the turn's session time), with ``n`` = 1 + the number of facts
it states that other passages or turns state too: a unit whose facts keep being restated fades more slowly.
Its score is then multiplied by ``1 - w + w * strength``. ``UnitStrength`` computes the per-unit dates and
half-lives once per index; each query only evaluates the curve at its time (its ``as_of``, or the clock), one
vector operation.

Not done: MemoryBank also strengthens a memory each time it is *recalled*. Here retrieval does not write,
so being retrieved does not count as a restatement.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from graphmem.index import RetrievalIndex, epoch_seconds

DAY = 86_400.0


@dataclass(frozen=True)
class StrengthConfig:
    """The forgetting curve's parameters (see the module docstring for the formula)."""

    half_life_days: float = 180.0  # age at which something stated once has half its strength
    gain: float = 1.0  # half-lives added by each restatement (MemoryBank: strength grows by one per recall)
    undated: float = 1.0  # strength of what has no date

    @property
    def half_life(self) -> float:
        """The half-life in seconds."""
        return self.half_life_days * DAY


DEFAULT_STRENGTH = StrengthConfig()
Time = datetime | float | np.ndarray  # a datetime, or UTC epoch seconds (NaN: unknown)


def _seconds(value: Time) -> float | np.ndarray:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return np.asarray(value, dtype=np.float64) if isinstance(value, np.ndarray) else float(value)


def strength(restatements: int | float | np.ndarray, last: Time, now: Time,
             half_life: timedelta | float = DEFAULT_STRENGTH.half_life, *, gain: float = DEFAULT_STRENGTH.gain,
             undated: float = DEFAULT_STRENGTH.undated) -> float | np.ndarray:  # fmt: skip
    """``2 ** (-age / (half_life * (1 + gain * (n - 1))))``: the strength of something stated ``restatements``
    times (n, at least 1), last at ``last``, seen at ``now``. Times are datetimes or UTC epoch seconds (arrays
    broadcast; NaN is undated), ``half_life`` a timedelta or seconds. A float for scalars, else an array."""
    span = half_life.total_seconds() if isinstance(half_life, timedelta) else float(half_life)
    if span <= 0:
        raise ValueError(f"half_life must be positive, not {half_life!r}")
    n = np.maximum(np.asarray(restatements, dtype=np.float64), 1.0)
    age = np.asarray(_seconds(now), dtype=np.float64) - np.asarray(_seconds(last), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        curve = np.exp2(-np.maximum(age, 0.0) / (span * (1.0 + gain * (n - 1.0))))
    out = np.where(np.isnan(age), undated, curve)
    return float(out) if out.ndim == 0 else out


def restated_facts_per_unit(index: RetrievalIndex) -> np.ndarray:
    """Per unit of ``index``: how many of the facts it states are stated by another unit too."""
    row = {unit.id: i for i, unit in enumerate(index.units)}
    counts = np.zeros(index.n_units, dtype=np.float64)
    for provenance in index.fact_provenance:
        rows = {row[u] for u in provenance if u in row}
        if len(rows) > 1:
            counts[list(rows)] += 1.0
    return counts


class UnitStrength:
    """The strength of every unit of one index, at any time: dates and half-lives are read once, each
    ``at(now)`` is one vector operation over them."""

    def __init__(self, index: RetrievalIndex, config: StrengthConfig = DEFAULT_STRENGTH,
                 times: np.ndarray | None = None) -> None:  # fmt: skip
        """``times``: the units' dates in epoch seconds when the caller has them already (else read here)."""
        self.config = config
        self.key = (index.revision, index.n_units, len(index.facts))  # the index content it was computed for
        if times is None:
            times = np.array([epoch_seconds(u.timestamp) for u in index.units], dtype=np.float64)
        self.last = times
        self.restatements = 1.0 + restated_facts_per_unit(index)
        self._undated = np.isnan(self.last)
        self._last = np.where(self._undated, 0.0, self.last)
        # halvings per second of age: the formula's exponent, folded once
        self._rate = 1.0 / (config.half_life * (1.0 + config.gain * (self.restatements - 1.0)))

    def at(self, now: datetime | float | None = None) -> np.ndarray:
        """Each unit's strength at ``now`` (a datetime or epoch seconds; default: the clock), as ``strength``
        gives it, in a few in-place vector operations."""
        when = float(time.time() if now is None else _seconds(now))
        out = when - self._last
        np.maximum(out, 0.0, out=out)
        out *= -self._rate
        np.exp2(out, out=out)
        out[self._undated] = self.config.undated
        return out


def weigh(scores: np.ndarray, strengths: np.ndarray, weight: float) -> np.ndarray:
    """Scores multiplied by ``1 - weight + weight * strength``. A score below zero (a negative cosine) is
    divided by that factor instead, so a weaker unit always loses ground and never gains it."""
    if weight <= 0:
        return scores
    if weight > 1:
        raise ValueError(f"recency_weight must be within [0, 1], not {weight}")
    factor = np.maximum(1.0 - weight + weight * strengths, math.ulp(1.0))
    return np.where(scores >= 0, scores * factor, scores / factor)
