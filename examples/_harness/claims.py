"""The source documents' qualitative claims, one row each, judged on our measured numbers.

Every claim of the warm-up AdaBound document (000), the robust-recipe document (001) and the
cyclical-learning-rate document (004) that experiments 1, 2, 3, 4 and 7 can test is a ``Claim``
in its experiment's script (``CLAIMS``): its text, the paper's numbers, and a judge that reads
the experiment's ``summary.json`` (written by ``Experiment.write``) and the runs' curves
(``runs/*.csv``) and returns our numbers and a verdict. This module holds the rules they are
judged by. Each claims table judges one protocol, named above it.

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

import importlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _harness import results
from _harness.experiment import format_mean_std, per_seed

import numpy as np

HELD, NOT_HELD, INCONCLUSIVE, NOT_RUN = "held", "did not hold", "inconclusive", "not run"
NOT_REFUTED = "not refuted"
STILL_IMPROVING = "inconclusive: baseline still improving"
NOT_RUN_MEDIUM = "not run at medium scale"
NOT_LANDED = "its medium runs have not landed yet"  # the reason, while the campaign runs
VERDICTS = (HELD, NOT_REFUTED, NOT_HELD, INCONCLUSIVE, STILL_IMPROVING, NOT_RUN, NOT_RUN_MEDIUM)
CHANCE = 10.0  # accuracy % that a diverged run is counted as (ten classes)
CLOSE_GAP = 1.5  # points: "within about 1 point", where a verdict needs at least 3 seeds
CONVERGED_GAIN = 0.5  # points over the last quarter of its evaluations: a baseline converged
RATE_CUT = 0.5  # a rate falling below this fraction between evaluations: a step schedule's cut
PROTOCOLS = {  # the protocol a claims table judges: what the page says above it
    "medium": "the medium protocols (each method at its own time scale)",
    "reduced": "the reduced protocols (short runs)",
}

CLAIM_SCRIPTS = ("exp1_warmup_adabound", "exp2_robust_ablation", "exp3_robust_optimizers",
                 "exp4_robust_grid", "exp7_cyclical_caffe")  # each defines CLAIMS
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
    ours = (f"{label_a} {format_mean_std(xs)} vs {label_b} {format_mean_std(ys)}; "
            f"gap {xs.mean() - ys.mean():+.2f}"
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


def among(verdict: Verdict, ran: Sequence[str], missing: Sequence[str],
          why: str = "not run") -> Verdict:
    """``verdict`` of a comparison with the best of several methods, naming the ones it
    compared with where some had not run (a protocol's cut arms, a campaign in progress)."""
    if not missing or verdict.verdict == NOT_RUN:
        return verdict
    return Verdict(f"compared with {', '.join(ran)} ({', '.join(missing)} {why}); "
                   f"{verdict.ours}", verdict.verdict)


def greater(method_a: str, method_b: str, key: str = "final_test_accuracy"):
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


def ablation(method_a: str, method_b: str) -> Callable[[dict], Verdict]:
    """An ablation step "``method_a`` adds accuracy to ``method_b``", judged once
    ``method_b`` has converged."""
    return converged(greater(method_a, method_b), method_b)


# -- the claims, from the experiments' scripts -----------------------------------------------
def all_claims() -> tuple[Claim, ...]:
    """Every experiment script's ``CLAIMS``, in ``CLAIM_SCRIPTS`` order (the table's rows)."""
    return tuple(claim for script in CLAIM_SCRIPTS
                 for claim in importlib.import_module(script).CLAIMS)


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
    for claim in all_claims():
        summary = load_summary(results_dir, claim.experiment, dataset)
        ran = summary is not None and summary.get("provenance", {}).get("scale") == protocol
        verdict = (Verdict(claim.medium_cut, NOT_RUN_MEDIUM) if medium and claim.medium_cut
                   else claim.judge(summary) if ran else Verdict(NOT_RUN, NOT_RUN))
        if medium and verdict.verdict == NOT_RUN:  # the experiment, or the claim's arms
            verdict = Verdict(NOT_LANDED if verdict.ours == NOT_RUN
                              else f"{NOT_LANDED} ({verdict.ours})", NOT_RUN_MEDIUM)
        judged.append((claim, verdict))
    return judged


def claims_table(judged: list[tuple[Claim, Verdict]],
                 short_runs: list[tuple[Claim, Verdict]] | None = None) -> str:
    """The claims with their verdicts; with ``short_runs`` (the same claims judged on the
    reduced protocols), a last column gives each claim's short-run verdict beside it."""
    rows = [[SOURCES[c.source], c.experiment.split("_")[0], c.text, c.paper, v.ours,
             f"**{v.verdict}**"] for c, v in judged]
    headers = ["source", "experiment", "claim", "paper", "ours", "verdict"]
    if short_runs is not None:
        if [c.text for c, _ in short_runs] != [c.text for c, _ in judged]:
            raise ValueError("short_runs must judge the same claims, in the same order")
        rows = [[*row, verdict.verdict] for row, (_, verdict) in zip(rows, short_runs,
                                                                     strict=True)]
        headers.append("verdict on the short runs")
    return results.markdown_table(headers, rows)
