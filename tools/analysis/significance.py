"""Before/after with significance: which differences between two sets of runs are real.

Each run (one trace) is reduced to :class:`~tools.analysis.run_measures.RunMeasures`.

A metric's change is the difference of the two sides' means. Its interval comes from a
bootstrap: runs are resampled with replacement and, within each resampled run, its samples
(binomial for shares, Poisson for counted events); with one run per side only the samples are.
Three things a short trace on a shared machine teaches make the interval honest:

- runs differ more than their sampling noise says (a spinning sender thread takes 4.6 % of the
  samples in one run, 6.8 % in the next, same binary). The within-run draws are widened by the
  family's *overdispersion*, the median ratio of the observed run-to-run variance to the
  sampling variance over all metrics of the family (at least 1; 1 with one run per side).
  A metric whose own runs disagree more than that (the thread pool's spinning: 0 % of the
  samples in one run, 3 % in the next, on a loaded machine) is widened by its own ratio,
  weighed against the family's as :data:`PRIOR_RUNS` runs' worth (never below the family's);
- resampling a handful of runs understates how much their mean varies (by half with two
  runs a side): the runs' spread is rescaled by sqrt(n / (n - 1)) in each draw;
- dozens of metrics are compared at once, so the interval is simultaneous: the bootstrap's
  standard error times the normal quantile of a Bonferroni-corrected 95 % level.

A change is *significant* when that interval excludes zero AND the change is larger than the
family's practical threshold. The random generator is seeded: the same runs always give the
same intervals and verdicts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist, median, stdev, variance
from typing import Literal

from pydantic import BaseModel, Field

from tools.analysis.run_measures import Family, Observation, RunMeasures

Verdict = Literal["regression", "improvement", "no significant change", "not tested"]

BOOTSTRAP_ITERATIONS = 1000
CONFIDENCE = 0.95
DEFAULT_SEED = 20_260_101
"""The bootstrap's RNG seed: the same runs give the same intervals and verdicts."""
MIN_COUNT_FOR_SPREAD = 20
"""Metrics resting on fewer events in a run do not inform the overdispersion estimate."""
PRIOR_RUNS = 4
"""Weight of the family's overdispersion against one metric's own, in degrees of freedom: two
runs a side give a metric two of its own, too few to trust alone, enough to widen it."""
NORMAL_APPROXIMATION_MIN = 30.0
"""Counts from which a Poisson/binomial draw uses the normal approximation (exact below)."""


@dataclass(frozen=True)
class FamilyRule:
    """How one family of metrics is judged.

    Attributes:
        unit: printed after values.
        higher_is_worse: an increase is a regression (throughput: the reverse).
        min_abs: smallest change (in ``unit``) that can be significant.
        min_rel: smallest change relative to the base value that can be significant.
        floor: metrics below this value on both sides are left out.
    """

    unit: str
    higher_is_worse: bool
    min_abs: float
    min_rel: float
    floor: float


RULES: dict[Family, FamilyRule] = {
    "throughput": FamilyRule("msg/s", False, 0.0, 0.05, 0.0),
    "cpu_self": FamilyRule("% CPU", True, 2.0, 0.2, 0.25),
    "cpu_inclusive": FamilyRule("% CPU", True, 2.0, 0.2, 0.25),
    "alloc_site": FamilyRule("B/msg", True, 8.0, 0.2, 0.5),
    "alloc_type": FamilyRule("B/msg", True, 8.0, 0.2, 0.5),
    "lock_waits": FamilyRule("waits/s", True, 5.0, 0.25, 0.1),
    "lock_time": FamilyRule("ms/s", True, 1.0, 0.25, 0.01),
}
"""Practical thresholds per family: a share must move by 2 points and 20 %, an allocation by
8 B per message and 20 %, lock waits by 5/s or 1 ms/s and 25 %, throughput by 5 %."""
PER_SECOND_ALLOC = FamilyRule("KB/s", True, 1000.0, 0.2, 10.0)
"""Allocation rule when the message count is unknown (trace files): 1 MB/s and 20 %."""


class MetricChange(BaseModel):
    """One metric compared between the two sides."""

    family: Family
    name: str = Field(description="Method, allocation site, type or lock site.")
    unit: str
    base: float = Field(description="Mean over the base runs.")
    new: float = Field(description="Mean over the new runs.")
    delta: float = Field(description="new - base.")
    relative: float | None = Field(description="delta / base (None when base is 0).")
    ci_low: float | None = Field(
        description="Lower end of the simultaneous 95 % interval of delta."
    )
    ci_high: float | None = Field(description="Upper end of the 95 % interval of delta.")
    verdict: Verdict
    base_runs: list[float]
    new_runs: list[float]
    resampled: Literal["runs", "samples", "none"] = Field(
        description="runs: runs and their samples resampled; samples: one run per side."
    )


class Significance(BaseModel):
    """Every metric compared, significant ones first in each family."""

    base_runs: int
    new_runs: int
    per_message: bool = Field(description="Allocations in B/msg (else KB/s).")
    seed: int
    z: float = Field(description="Normal quantile of the simultaneous 95 % intervals.")
    overdispersion: dict[str, float] = Field(
        description="Per family: how much more runs varied than their sampling noise says."
    )
    changes: list[MetricChange]

    def significant(self) -> list[MetricChange]:
        """Regressions and improvements, the largest (in thresholds) first."""
        found = [c for c in self.changes if c.verdict in ("regression", "improvement")]
        return sorted(found, key=lambda c: -effect_size(c))

    def regressions(self) -> list[MetricChange]:
        """Significant regressions, the largest first."""
        return [c for c in self.significant() if c.verdict == "regression"]


def effect_size(change: MetricChange) -> float:
    """How many practical thresholds the change spans (ranks changes of different units)."""
    rule = rule_for(change.family, change.unit)
    scale = rule.min_abs or rule.min_rel * max(abs(change.base), 1e-9)
    return abs(change.delta) / scale


def rule_for(family: Family, unit: str) -> FamilyRule:
    """The family's rule (allocations per second when the unit says so)."""
    if family in ("alloc_site", "alloc_type") and unit == PER_SECOND_ALLOC.unit:
        return PER_SECOND_ALLOC
    return RULES[family]


# --- the comparison ---------------------------------------------------------------------


def compare_runs(
    base: Sequence[RunMeasures],
    new: Sequence[RunMeasures],
    *,
    seed: int = DEFAULT_SEED,
    iterations: int = BOOTSTRAP_ITERATIONS,
) -> Significance:
    """Every metric of either side compared, with its simultaneous interval and verdict.

    Raises:
        ValueError: a side has no runs.
    """
    if not base or not new:
        raise ValueError("each side needs at least one run")
    rng = random.Random(seed)
    per_message = all(r.per_message for r in (*base, *new))
    tested: list[tuple[Family, str, str, FamilyRule]] = []
    for family in RULES:
        unit = RULES[family].unit
        if family in ("alloc_site", "alloc_type") and not per_message:
            unit = PER_SECOND_ALLOC.unit
        rule = rule_for(family, unit)
        tested += [(family, name, unit, rule) for name in _names(family, base, new, rule.floor)]
    z = NormalDist().inv_cdf(1.0 - (1.0 - CONFIDENCE) / (2.0 * max(len(tested), 1)))
    spread = {family: overdispersion(family, base, new) for family in RULES}
    changes = []
    for family, name, unit, rule in tested:
        a = [_observed(r, family, name) for r in base]
        b = [_observed(r, family, name) for r in new]
        # Throughput is one question of its own: no correction for the many method metrics.
        level = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2) if family == "throughput" else z
        widen = math.sqrt(metric_overdispersion(spread[family], a, b))
        draws = _Draws(rng, iterations, widen, level)
        changes.append(_judge(family, name, unit, rule, a, b, draws))
    changes.sort(key=lambda c: (c.family, c.verdict == "no significant change", -abs(c.delta)))
    return Significance(
        base_runs=len(base), new_runs=len(new), per_message=per_message, seed=seed,
        z=round(z, 3), overdispersion={f: round(v, 2) for f, v in spread.items()},
        changes=changes,
    )  # fmt: skip


def _names(
    family: Family, base: Sequence[RunMeasures], new: Sequence[RunMeasures], floor: float
) -> list[str]:
    """Metrics of ``family`` whose mean reaches ``floor`` on either side, in a stable order."""
    names: set[str] = set()
    for side in (base, new):
        totals: dict[str, float] = {}
        for run in side:
            for name, obs in run.metrics.get(family, {}).items():
                totals[name] = totals.get(name, 0.0) + obs.value
        names |= {n for n, v in totals.items() if v / len(side) >= floor}
    return sorted(names)


def _observed(run: RunMeasures, family: Family, name: str) -> Observation:
    found = run.metrics.get(family, {}).get(name)
    if found is not None:
        return found
    if family in ("cpu_self", "cpu_inclusive"):
        # Absent from a deep top list: zero samples out of this run's total.
        totals = [o.total for o in run.metrics.get(family, {}).values() if o.total]
        return Observation(0.0, 0, totals[0] if totals else None)
    return Observation(0.0, 0)


def overdispersion(
    family: Family, base: Sequence[RunMeasures], new: Sequence[RunMeasures]
) -> float:
    """Median over the family's metrics of (variance between runs of a side) / (sampling
    variance of one run); at least 1, and 1 when no side has two runs to compare."""
    ratios = []
    for side in (base, new):
        if len(side) < 2:
            continue
        names = set().union(*(run.metrics.get(family, {}) for run in side))
        for name in names:
            observed = [_observed(run, family, name) for run in side]
            if min(o.count for o in observed) < MIN_COUNT_FOR_SPREAD:
                continue
            sampling = _mean(_sampling_variance(o) for o in observed)
            if sampling > 0:
                ratios.append(variance([o.value for o in observed]) / sampling)
    return max(1.0, median(ratios)) if ratios else 1.0


def metric_overdispersion(
    family: float, a: Sequence[Observation], b: Sequence[Observation]
) -> float:
    """The family's overdispersion, raised toward the metric's own (pooled variance between
    the runs of each side over their mean sampling variance) by its degrees of freedom."""
    sides = [side for side in (a, b) if len(side) >= 2]
    sampling = _mean(_sampling_variance(o) for side in sides for o in side) if sides else 0.0
    if sampling <= 0:
        return family
    df = sum(len(side) - 1 for side in sides)
    pooled = sum(variance([o.value for o in side]) * (len(side) - 1) for side in sides) / df
    moderated = (PRIOR_RUNS * family + df * pooled / sampling) / (PRIOR_RUNS + df)
    return max(family, moderated)


def _sampling_variance(obs: Observation) -> float:
    """Variance of one run's value from sampling alone (binomial share or Poisson count)."""
    if obs.count <= 0:
        return 0.0
    if obs.total:
        p = obs.count / obs.total
        return (obs.value / obs.count) ** 2 * obs.total * p * (1.0 - p)
    return obs.value**2 / obs.count


@dataclass(frozen=True)
class _Draws:
    """How to bootstrap: the generator, iterations, the widening of within-run draws, the
    simultaneous normal quantile."""

    rng: random.Random
    iterations: int
    widen: float
    z: float


def _judge(
    family: Family,
    name: str,
    unit: str,
    rule: FamilyRule,
    a: list[Observation],
    b: list[Observation],
    draws: _Draws,
) -> MetricChange:
    mean_a, mean_b = _mean(o.value for o in a), _mean(o.value for o in b)
    delta = mean_b - mean_a
    relative = delta / mean_a if mean_a else None
    untestable = family == "throughput" and (len(a) < 2 or len(b) < 2)
    low = high = None
    verdict: Verdict = "not tested" if untestable else "no significant change"
    if not untestable:
        error = bootstrap_standard_error(a, b, draws)
        low, high = delta - draws.z * error, delta + draws.z * error
        large = abs(delta) >= rule.min_abs and (relative is None or abs(relative) >= rule.min_rel)
        if large and (low > 0 or high < 0):
            worse = (delta > 0) == rule.higher_is_worse
            verdict = "regression" if worse else "improvement"
    resampled: Literal["runs", "samples", "none"] = "none"
    if not untestable:
        resampled = "samples" if len(a) == 1 and len(b) == 1 else "runs"
    return MetricChange(
        family=family, name=name, unit=unit, base=_round(mean_a), new=_round(mean_b),
        delta=_round(delta), relative=None if relative is None else round(relative, 4),
        ci_low=None if low is None else _round(low), ci_high=None if high is None else _round(high),
        verdict=verdict, base_runs=[_round(o.value) for o in a],
        new_runs=[_round(o.value) for o in b], resampled=resampled,
    )  # fmt: skip


def bootstrap_standard_error(
    a: Sequence[Observation], b: Sequence[Observation], draws: _Draws
) -> float:
    """The bootstrap standard deviation of mean(b) - mean(a), runs and samples resampled."""
    deltas = [
        _resampled_mean(b, draws) - _resampled_mean(a, draws) for _ in range(draws.iterations)
    ]
    return stdev(deltas)


def _resampled_mean(runs: Sequence[Observation], draws: _Draws) -> float:
    """One bootstrap draw of a side's mean. Resampling n runs spreads their mean by only
    (n - 1) / n of its variance (half of it with two runs), so each picked run's distance
    from the side's mean is scaled by sqrt(n / (n - 1)) before its samples are drawn again."""
    if len(runs) == 1:
        return _resample_within(runs[0], draws)
    rng = draws.rng
    centre = _mean(o.value for o in runs)
    scale = math.sqrt(len(runs) / (len(runs) - 1))
    picks = [runs[rng.randrange(len(runs))] for _ in runs]
    return _mean(
        centre + scale * (o.value - centre) + _resample_within(o, draws) - o.value for o in picks
    )


def _resample_within(obs: Observation, draws: _Draws) -> float:
    """The run's value had its samples been drawn again, the deviation widened by the
    family's overdispersion (the value scales with the count)."""
    if obs.count <= 0:
        return obs.value
    if obs.total:
        drawn = binomial(obs.total, obs.count / obs.total, draws.rng)
    else:
        drawn = poisson(float(obs.count), draws.rng)
    return obs.value * (1.0 + draws.widen * (drawn - obs.count) / obs.count)


def poisson(lam: float, rng: random.Random) -> int:
    """A Poisson(lam) draw: Knuth's product method, the normal approximation for large lam."""
    if lam >= NORMAL_APPROXIMATION_MIN:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def binomial(n: int, p: float, rng: random.Random) -> int:
    """A Binomial(n, p) draw (normal approximation when n·p·(1-p) is large, Poisson when p or
    1-p is small; Python 3.11 has no binomial generator)."""
    variance_ = n * p * (1.0 - p)
    if variance_ >= NORMAL_APPROXIMATION_MIN:
        return min(n, max(0, round(rng.gauss(n * p, math.sqrt(variance_)))))
    if p <= 0.5:
        return min(n, poisson(n * p, rng))
    return max(0, n - poisson(n * (1.0 - p), rng))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def _round(value: float) -> float:
    return round(value, 4)
