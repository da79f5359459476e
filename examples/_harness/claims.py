"""The source documents' qualitative claims, one row each, judged on our measured numbers.

Every claim of the warm-up AdaBound document (000), the robust-recipe document (001) and the
cyclical-learning-rate document (004) that experiments 1, 2, 3, 4 and 7 can test is a ``Claim``:
its text, the paper's numbers, and a judge that reads the experiment's ``summary.json`` (written
by ``Experiment.write``) and the runs' curves (``runs/*.csv``) and returns our numbers and a
verdict. Each claims table judges one protocol, named above it.

- **held**: shown: the measured gap points the claimed way and is larger than two standard
  deviations of the per-seed paired differences (every method of a seed shares initial
  weights and data order, so the paired difference is the comparison's own noise);
- **did not hold**: the gap points the other way, by more than two standard deviations;
- **not refuted**: an "at least as good" claim (triangular2 *reaches* the fixed rate's
  accuracy) whose gap is within two standard deviations: not shown, not contradicted;
- **inconclusive**: the gap is within two standard deviations, or only one seed ran, or the
  gap is close (under `CLOSE_GAP` points) and fewer than 3 seeds ran: two seeds give a
  standard deviation with one degree of freedom, too weak to separate methods about a point
  apart (the campaign's rule: at least 3 seeds wherever two methods are within about 1 point);
- **inconclusive: baseline still improving**: a claim that a method reaches or beats a
  baseline in fewer iterations, or an ablation step, whose baseline gained `CONVERGED_GAIN`
  points or more (mean over seeds) over the last quarter of its evaluations (after its last
  x0.1-style rate cut, where its schedule steps inside that quarter): the run is too short
  to say what the baseline reaches;
- **not run** / **not run at medium scale**: the experiment's results (or the arm) are not
  there, with the reason.

A diverged run counts as chance accuracy (10 %). "Adam diverges at lr 0.1" holds when every
seed (at least 2) diverged and does not hold when none did. Two claims are about one run by
the protocol itself (the paper's too): experiment 4's grid (seed 0) and the LR range test;
they are judged on that run. Nothing here is estimated or copied.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _harness import papers, results
from _harness.experiment import per_seed

import numpy as np

HELD, NOT_HELD, INCONCLUSIVE, NOT_RUN = "held", "did not hold", "inconclusive", "not run"
NOT_REFUTED = "not refuted"
STILL_IMPROVING = "inconclusive: baseline still improving"
NOT_RUN_MEDIUM = "not run at medium scale"
VERDICTS = (HELD, NOT_REFUTED, NOT_HELD, INCONCLUSIVE, STILL_IMPROVING, NOT_RUN, NOT_RUN_MEDIUM)
CHANCE = 10.0  # accuracy % that a diverged run is counted as (ten classes)
CLOSE_GAP = 1.5  # points: "within about 1 point", where a verdict needs at least 3 seeds
CONVERGED_GAIN = 0.5  # points over the last quarter of its evaluations: a baseline converged
RATE_CUT = 0.5  # a rate falling below this fraction between evaluations: a step schedule's cut
PROTOCOLS = {  # the protocol a claims table judges: what the page says above it
    "medium": "the medium protocols (each method at its own time scale)",
    "reduced": "the reduced protocols (short runs)",
}

SOURCES = {
    "000": "000 warm-up AdaBound (Namiki & Yamaguchi)",
    "001": "001 robust recipe (Noguchi & Yamauchi)",
    "004": "004 cyclical learning rates (Smith 2017)",
}


@dataclass(frozen=True)
class Verdict:
    ours: str
    verdict: str


@dataclass(frozen=True)
class Claim:
    source: str
    experiment: str  # the results folder's prefix, e.g. "exp1_warmup_adabound"
    text: str
    paper: str
    judge: Callable[[dict], Verdict]
    medium_cut: str | None = None  # why the medium protocol does not run it (None: it does)


# -- numbers from a summary.json ------------------------------------------------------------
def seed_values(summary: dict, method: str, key: str = "final_test_accuracy"
                ) -> list[float | None]:
    """``key`` of ``method`` for every seed: None where not run, CHANCE where it diverged."""
    return per_seed(summary.get("runs", {}), method, key, diverged=CHANCE)


def read_at(summary: dict, method: str, iteration: int) -> list[float | None]:
    """Experiment 7: ``method``'s accuracy per seed at the paper's ``iteration`` (scaled)."""
    values = summary.get("read_at", {}).get(method, {}).get(str(iteration))
    if values is None:
        return []
    return [None if v is None else CHANCE if not math.isfinite(v) else float(v) for v in values]


def _stats(values: Sequence[float]) -> str:
    values = np.asarray(values, float)
    if len(values) > 1:
        return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
    return f"{values.mean():.2f}"


def compare(a: Sequence[float | None], b: Sequence[float | None], label_a: str, label_b: str,
            *, at_least: bool = False, margin: float = 0.0) -> Verdict:
    """Judges "a > b" (or, ``at_least``, "a >= b - margin") on paired per-seed values."""
    pairs = [(x, y) for x, y in zip(a, b, strict=False) if x is not None and y is not None]
    if not pairs:
        return Verdict(NOT_RUN, NOT_RUN)
    xs, ys = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    differences = xs - ys + (margin if at_least else 0.0)
    gap = float(differences.mean())
    n = len(pairs)
    sd = float(differences.std(ddof=1)) if n > 1 else float("nan")
    ours = (f"{label_a} {_stats(xs)} vs {label_b} {_stats(ys)}; gap {xs.mean() - ys.mean():+.2f}"
            + (f" (2 sd {2 * sd:.2f}, {n} seeds)" if n > 1 else " (1 seed)"))
    if n < 2:
        return Verdict(ours, INCONCLUSIVE)
    if n < 3 and abs(xs.mean() - ys.mean()) < CLOSE_GAP:
        return Verdict(f"{ours}; a gap under {CLOSE_GAP:g} points needs 3 seeds", INCONCLUSIVE)
    if at_least:
        return Verdict(ours, NOT_HELD if gap < -2 * sd else HELD if gap > 2 * sd else NOT_REFUTED)
    if abs(gap) <= 2 * sd:
        return Verdict(ours, INCONCLUSIVE)
    return Verdict(ours, HELD if gap > 0 else NOT_HELD)


def _greater(method_a: str, method_b: str, key: str = "final_test_accuracy"):
    def judge(summary: dict) -> Verdict:
        return compare(seed_values(summary, method_a, key), seed_values(summary, method_b, key),
                       method_a, method_b)

    return judge


# -- has the baseline converged? ------------------------------------------------------------
def last_quarter_gain(curve: dict) -> float | None:
    """Points of test accuracy a run gained over the last quarter of its evaluations (at
    least the last two): from the evaluation that opens that quarter, or from the last one
    after a step cut of the rate (below ``RATE_CUT`` of the one before) inside it, to the
    last. None with fewer than two evaluations."""
    accuracy = curve.get("val_accuracy") or []
    n = len(accuracy)
    if n < 2:
        return None
    start = n - max(2, math.ceil(n / 4))
    rates = curve.get("lr") or []
    cuts = [i for i in range(1, len(rates)) if rates[i] < RATE_CUT * rates[i - 1]]
    if cuts and cuts[-1] > start:
        start = min(cuts[-1], n - 2)
    return 100.0 * (accuracy[-1] - accuracy[start])


def baseline_gain(summary: dict, method: str) -> float | None:
    """``last_quarter_gain`` of ``method``'s runs, mean over the seeds with a curve."""
    gains = [last_quarter_gain(by_method[method])
             for by_method in summary.get("curves", {}).values() if method in by_method]
    gains = [g for g in gains if g is not None]
    return float(np.mean(gains)) if gains else None


def converged(judge: Callable[[dict], Verdict], baseline: str) -> Callable[[dict], Verdict]:
    """``judge``, its verdict given only when ``baseline`` has converged (``CONVERGED_GAIN``);
    else "inconclusive: baseline still improving"."""
    def gated(summary: dict) -> Verdict:
        verdict = judge(summary)
        if verdict.verdict == NOT_RUN:
            return verdict
        gain = baseline_gain(summary, baseline)
        if gain is None:
            return Verdict(f"{verdict.ours}; {baseline}'s curve not recorded", INCONCLUSIVE)
        note = f"{baseline} {gain:+.2f} points over its last quarter"
        if round(gain, 2) >= CONVERGED_GAIN:  # decided on the number the page shows
            return Verdict(f"{verdict.ours}; {note}", STILL_IMPROVING)
        return Verdict(f"{verdict.ours}; {note} (converged)", verdict.verdict)

    gated.converged_baseline = baseline  # which run the verdict waits for (the page's tests)
    return gated


def _ablation(method_a: str, method_b: str) -> Callable[[dict], Verdict]:
    """An ablation step "``method_a`` adds accuracy to ``method_b``", judged once
    ``method_b`` has converged."""
    return converged(_greater(method_a, method_b), method_b)


# -- experiment 1 ---------------------------------------------------------------------------
EXP1_METHODS = ("AdaBound", "RAdam", "w10AdaBound", "w20AdaBound", "w30AdaBound",
                "w40AdaBound", "w50AdaBound")


def _radam_best(summary: dict) -> Verdict:
    others = [m for m in EXP1_METHODS if m != "RAdam"]
    means = {m: np.mean([v for v in seed_values(summary, m) if v is not None] or [-1])
             for m in others}
    runner_up = max(means, key=means.get)
    return compare(seed_values(summary, "RAdam"), seed_values(summary, runner_up), "RAdam",
                   f"best other ({runner_up})")


# -- experiment 3 ---------------------------------------------------------------------------
EXP3_OPTIMIZERS = tuple(papers.EXP3_TABLE2)
EXP3_RATES = papers.EXP3_RATES
LARGE_RATE_GROUP = ("AdamW", "RAdam", "AdaBelief")


def _exp3(summary: dict, optimizer: str, lr: float) -> list[float | None]:
    return seed_values(summary, f"{optimizer} lr={lr:g}")


def spreads(summary: dict, optimizer: str) -> list[float | None]:
    """Per seed: max - min of ``optimizer``'s accuracy over the three rates."""
    columns = [_exp3(summary, optimizer, lr) for lr in EXP3_RATES]
    return [None if any(v is None for v in cell) else max(cell) - min(cell)
            for cell in zip(*columns, strict=True)]


def _smallest_spread(summary: dict) -> Verdict:
    means = {o: np.mean([v for v in spreads(summary, o) if v is not None] or [np.inf])
             for o in EXP3_OPTIMIZERS if o != "RAdaBeliefW"}
    runner_up = min(means, key=means.get)
    verdict = compare(spreads(summary, runner_up), spreads(summary, "RAdaBeliefW"),
                      f"smallest other spread ({runner_up})", "RAdaBeliefW's spread")
    return verdict


def _adam_diverges(summary: dict) -> Verdict:
    runs = [run.get("Adam lr=0.1") for run in summary.get("runs", {}).values()]
    runs = [r for r in runs if r is not None and not r.get("not_run")]
    if not runs:
        return Verdict(NOT_RUN, NOT_RUN)
    diverged = sum(bool(r.get("diverged")) for r in runs)
    accuracy = [r["final_test_accuracy"] for r in runs if not r.get("diverged")]
    ours = f"diverged in {diverged} of {len(runs)} seeds" + (
        f"; final accuracy {_stats(accuracy)} where it trained" if accuracy else "")
    if len(runs) < 2:  # as for every comparison: one seed decides nothing
        return Verdict(ours, INCONCLUSIVE)
    if diverged == len(runs):
        return Verdict(ours, HELD)
    return Verdict(ours, NOT_HELD if diverged == 0 else INCONCLUSIVE)


def _mean_over(summary: dict, optimizers: Sequence[str], lr: float) -> list[float | None]:
    columns = [_exp3(summary, o, lr) for o in optimizers]
    return [None if any(v is None for v in cell) else float(np.mean(cell))
            for cell in zip(*columns, strict=True)]


def _large_rate_hurts(summary: dict) -> Verdict:
    return compare(_mean_over(summary, LARGE_RATE_GROUP, 0.01),
                   _mean_over(summary, LARGE_RATE_GROUP, 0.1), "mean at lr 0.01", "mean at lr 0.1")


def _paper_exp3(optimizer: str, lr: float) -> float | None:
    return papers.EXP3_TABLE2[optimizer][EXP3_RATES.index(lr)]


def _paper_large_rate() -> str:
    def mean(lr: float) -> float:
        return float(np.mean([_paper_exp3(o, lr) for o in LARGE_RATE_GROUP]))

    return f"mean {mean(0.1):.2f} at 0.1 vs {mean(0.01):.2f} at 0.01"


def _paper_spreads() -> str:
    """RAdaBeliefW's spread and the next smallest of the paper's table 2 (an optimizer that
    diverged at some rate has no spread)."""
    spread = {o: max(cells) - min(cells) for o, cells in papers.EXP3_TABLE2.items()
              if None not in cells}
    runner_up = min((o for o in spread if o != "RAdaBeliefW"), key=spread.get)
    return (f"spread {spread['RAdaBeliefW']:.2f} (next smallest: {runner_up} "
            f"{spread[runner_up]:.2f})")


# -- experiment 4 ---------------------------------------------------------------------------
GRID_MAX_SPREAD = 2.0  # points: the paper's 3 x 3 subset spans 1.15, its 5 x 5 grid 1.15


def _cells(cells: list[list[float | None]]) -> str:
    count = int(np.isfinite(results.grid_array(cells)).sum())
    return f"{count} cells: {results.grid_statistics(cells)}"


def _grid_robust(summary: dict) -> Verdict:
    cells = summary.get("grid", {}).get("ours")
    if not cells:
        return Verdict(NOT_RUN, NOT_RUN)
    flat = results.grid_array(cells)
    if np.isnan(flat).all():
        return Verdict(NOT_RUN, NOT_RUN)
    spread = float(np.nanmax(flat) - np.nanmin(flat))
    ours = f"{_cells(cells)} (1 seed)"
    return Verdict(ours, HELD if spread <= GRID_MAX_SPREAD else NOT_HELD)


# -- experiment 7 ---------------------------------------------------------------------------
def paper_read_at(method: str, iteration: int) -> float:
    """The paper's accuracy % of an experiment-7 method ("triangular2" of table 2, "Adam fixed"
    of table 3) at ``iteration``."""
    optimizer, _, policy = method.partition(" ")
    if optimizer in papers.EXP7_TABLE3:
        return papers.exp7_optimizer(optimizer, policy, iteration)
    paper_iterations, accuracy = papers.exp7_policy(method)
    if paper_iterations != iteration:
        raise KeyError(f"table 2 reports {method} at {paper_iterations:,}, not {iteration:,}")
    return accuracy


def _read_claim(text: str, method_a: str, at_a: int, method_b: str, at_b: int, *,
                at_least: bool = False, margin: float = 0.0, medium_cut: str | None = None
                ) -> Claim:
    """A document-004 claim "``method_a`` at ``at_a`` beats (or, ``at_least``, reaches within
    ``margin`` of) ``method_b`` at ``at_b``", with the paper's two numbers; a claim to reach
    or beat the baseline in fewer iterations waits for the baseline to converge."""
    def judge(summary: dict) -> Verdict:
        return compare(read_at(summary, method_a, at_a), read_at(summary, method_b, at_b),
                       f"{method_a} at {at_a:,}", f"{method_b} at {at_b:,}",
                       at_least=at_least, margin=margin)

    paper = (f"{paper_read_at(method_a, at_a):.1f} at {at_a:,} vs "
             f"{paper_read_at(method_b, at_b):.1f} at {at_b:,}")
    if at_least or at_a < at_b:
        judge = converged(judge, method_b)
    return Claim("004", "exp7_cyclical_caffe", text, paper, judge, medium_cut)


EXP7_CUT = ("arm cut for the CPU budget: the medium protocol runs triangular2, exp_range, "
            "decay, fixed and Caffe's standard run (experiment 7's docstring)")
PAPER_BOUNDS = papers.EXP7_BOUNDS
BOUNDS_FACTOR = 2.0


def _range_bounds(summary: dict) -> Verdict:
    bounds = summary.get("range_test")
    if not bounds:
        return Verdict(NOT_RUN, NOT_RUN)
    base, peak = bounds["base_lr"], bounds["max_lr"]
    if base is None or peak is None:  # the curve showed no rise to read bounds from
        return Verdict(f"no bounds: {bounds.get('error', 'none read')}", NOT_HELD)
    ours = f"base_lr {base:.3g}, max_lr {peak:.3g} ({bounds['iterations']} iterations, 1 run)"
    near = all(p / BOUNDS_FACTOR <= v <= p * BOUNDS_FACTOR
               for v, p in zip((base, peak), PAPER_BOUNDS, strict=True))
    return Verdict(ours, HELD if near else NOT_HELD)


T1, FIGURE2 = papers.EXP2_TABLE1, papers.EXP1_FIGURE2


def _figure2(method: str) -> str:
    return f"figure 2 (curves): {method} {FIGURE2[method]}"


def _step(before: str, after: str) -> str:
    return f"{T1[before]:.2f} -> {T1[after]:.2f}"


CLAIMS: tuple[Claim, ...] = (
    Claim("000", "exp1_warmup_adabound", "w10AdaBound generalizes better than AdaBound",
          _figure2("w10AdaBound"), _greater("w10AdaBound", "AdaBound")),
    Claim("000", "exp1_warmup_adabound", "w20AdaBound generalizes better than AdaBound",
          _figure2("w20AdaBound"), _greater("w20AdaBound", "AdaBound")),
    Claim("000", "exp1_warmup_adabound", "RAdam is the most accurate of the seven",
          _figure2("RAdam"), _radam_best),
    Claim("001", "exp2_robust_ablation", "+cosine decay adds accuracy to the baseline",
          _step("Baseline", "+cosine decay"), _ablation("+cosine decay", "Baseline")),
    Claim("001", "exp2_robust_ablation", "+TrivialAugment adds accuracy",
          _step("+cosine decay", "+TrivialAugment"), _ablation("+TrivialAugment", "+cosine decay")),
    Claim("001", "exp2_robust_ablation", "+CutMix adds accuracy",
          _step("+TrivialAugment", "+CutMix"), _ablation("+CutMix", "+TrivialAugment")),
    Claim("001", "exp2_robust_ablation", "+weight decay off at 75 % adds accuracy",
          _step("+CutMix", "+Weight Decay off"), _ablation("+Weight Decay off", "+CutMix")),
    Claim("001", "exp2_robust_ablation", "the whole recipe beats the baseline",
          _step("Baseline", "+Weight Decay off"), _ablation("+Weight Decay off", "Baseline")),
    Claim("001", "exp3_robust_optimizers", "NAG loses much accuracy at a small rate",
          f"NAG {_paper_exp3('NAG', 0.1):.2f} at lr 0.1, {_paper_exp3('NAG', 0.001):.2f} at 0.001",
          _greater("NAG lr=0.1", "NAG lr=0.001")),
    Claim("001", "exp3_robust_optimizers", "Adam diverges at lr 0.1",
          "diverged" if _paper_exp3("Adam", 0.1) is None else f"{_paper_exp3('Adam', 0.1):.2f}",
          _adam_diverges),
    Claim("001", "exp3_robust_optimizers",
          "AdamW, RAdam and AdaBelief are less accurate at lr 0.1 than at 0.01",
          _paper_large_rate(), _large_rate_hurts),
    Claim("001", "exp3_robust_optimizers",
          "RAdaBeliefW has the smallest spread over lr 0.1 / 0.01 / 0.001",
          _paper_spreads(), _smallest_spread),
    Claim("001", "exp4_robust_grid",
          f"RAdaBeliefW is robust over lr x weight decay (max - min <= {GRID_MAX_SPREAD:g} "
          "points over the grid)", _cells(papers.EXP4_TABLE3), _grid_robust),
    _read_claim("triangular2 reaches the fixed rate's final accuracy in <= 40 % of its "
                "iterations (a constant 0.001)", "triangular2", 25_000, "fixed", 70_000,
                at_least=True),
    _read_claim("triangular2 reaches Caffe's standard run (0.001, x0.1 at 60,000 and 65,000) "
                "in <= 40 % of its iterations", "triangular2", 25_000, papers.EXP7_CAFFE_STANDARD,
                70_000, at_least=True),
    _read_claim("exp_range beats fixed, in 60 % of the iterations",
                "exp_range", 42_000, "fixed", 70_000),
    _read_claim("exp_range beats Caffe's standard run, in 60 % of the iterations",
                "exp_range", 42_000, papers.EXP7_CAFFE_STANDARD, 70_000),
    _read_claim("triangular2 beats linear decay at 25,000 iterations",
                "triangular2", 25_000, "decay", 25_000),
    _read_claim("exp_range beats Caffe's exp policy", "exp_range", 42_000, "exp", 70_000,
                medium_cut=EXP7_CUT),
    _read_claim("Nesterov + triangular at 25,000 comes within 1 point of fixed at 70,000",
                "Nesterov triangular", 25_000, "Nesterov fixed", 70_000,
                at_least=True, margin=1.0,
                medium_cut=EXP7_CUT),
    _read_claim("Adam + triangular at 70,000 comes within 1 point of fixed at 70,000",
                "Adam triangular", 70_000, "Adam fixed", 70_000, at_least=True, margin=1.0,
                medium_cut=EXP7_CUT),
    _read_claim("RMSprop + triangular at 70,000 comes within 1 point of fixed at 70,000",
                "RMSprop triangular", 70_000, "RMSprop fixed", 70_000, at_least=True, margin=1.0,
                medium_cut=EXP7_CUT),
    _read_claim("AdaGrad + triangular at 25,000 beats fixed at 70,000",
                "AdaGrad triangular", 25_000, "AdaGrad fixed", 70_000,
                medium_cut=EXP7_CUT),
    _read_claim("AdaDelta + triangular at 25,000 reaches fixed at 70,000",
                "AdaDelta triangular", 25_000, "AdaDelta fixed", 70_000, at_least=True,
                medium_cut=EXP7_CUT),
    Claim("004", "exp7_cyclical_caffe",
          f"the range test's bounds are near the paper's (each within x{BOUNDS_FACTOR:g})",
          f"base_lr {PAPER_BOUNDS[0]:g}, max_lr {PAPER_BOUNDS[1]:g}", _range_bounds),
)


def load_summary(results_dir: str, experiment: str, dataset: str) -> dict | None:
    """The experiment's summary.json with its runs' curves (``runs/*.csv``) under
    ``"curves"`` (``{seed: {method: history}}``), or None where it has not run."""
    folder = os.path.join(results_dir, f"{experiment}_{dataset}")
    path = os.path.join(folder, "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        summary = json.load(stream)
    curves: dict = {}
    for seed, by_method in summary.get("runs", {}).items():
        for method in by_method:
            csv_path = results.run_file(folder, results.run_name(method, seed), ".csv")
            if os.path.exists(csv_path):
                curves.setdefault(seed, {})[method] = results.read_history(csv_path)
    summary.setdefault("curves", curves)
    return summary


def judge_all(results_dir: str, dataset: str = "fashion_mnist", protocol: str = "reduced"
              ) -> list[tuple[Claim, Verdict]]:
    """Every claim with its verdict from the ``protocol``'s summaries under ``results_dir``
    (a summary of another protocol is not judged here)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {protocol!r}")
    medium = protocol == "medium"
    judged = []
    for claim in CLAIMS:
        summary = load_summary(results_dir, claim.experiment, dataset)
        ran = summary is not None and summary.get("provenance", {}).get("scale") == protocol
        if medium and claim.medium_cut:
            judged.append((claim, Verdict(claim.medium_cut, NOT_RUN_MEDIUM)))
        elif not ran:
            judged.append((claim, Verdict(
                "its medium runs have not landed yet", NOT_RUN_MEDIUM) if medium
                else Verdict(NOT_RUN, NOT_RUN)))
        else:
            judged.append((claim, claim.judge(summary)))
    return judged


def claims_table(judged: list[tuple[Claim, Verdict]]) -> str:
    rows = [[SOURCES[c.source], c.experiment.split("_")[0], c.text, c.paper, v.ours,
             f"**{v.verdict}**"] for c, v in judged]
    return results.markdown_table(
        ["source", "experiment", "claim", "paper", "ours", "verdict"], rows)
