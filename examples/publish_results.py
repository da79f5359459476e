"""Writes the measured tables of the experiments and the claims tables into a page, or checks it.

    python examples/publish_results.py                  # docs/runs/ -> docs/results.md
    python examples/publish_results.py --check          # fails on any difference, shows it

Every number comes from the run records under ``--runs-dir`` (``docs/runs``, committed): the
medium protocols' results in ``medium/``, the reduced (short-run) protocols' in ``exp10/``,
experiment 5 in ``exp5_full/``, the demo in ``demo/``. For experiments 1, 2, 3, 4 and 7 the
page gets, between its ``<!-- results:expN -->`` and ``<!-- /results:expN -->`` markers: the
protocols (from the script's docstring, the one place they are written), then each protocol's
``table.md`` (paper and ours in separate columns, and the provenance line naming dataset,
protocol, model, seeds, hardware and wall time), or "not run" with the command that runs it.
Experiment 5 and the demo get their ``table.md`` between their markers. Between
``<!-- results:claims -->`` markers goes the claims table of the medium protocols, between
``<!-- results:claims-reduced -->`` markers that of the short runs (each script's ``CLAIMS``,
judged by ``_harness/claims.py``).
Everything else on the page is kept.

Before a page is written or checked, every ``summary.json`` is checked against its run records:
each run's summary must equal ``runs/<run>.json``, its final accuracy the last evaluation of
``runs/<run>.csv``, and experiment 7's read-outs the evaluations they name. ``--check`` exits
non-zero, with a unified diff, where the page differs from what the records give.
Run the experiments with ``--publish-only`` first to refresh a table from partial results.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import math
import os
import re
import statistics
import sys

from _harness import claims, results

EXPERIMENTS = {  # marker ("exp1"): (results folder prefix, script), for every claims script
    name.split("_")[0]: (name, f"{name}.py") for name in claims.CLAIM_SCRIPTS}
PROTOCOL_DIRS = {"medium": "medium", "reduced": "exp10"}  # under --runs-dir
SINGLE_RUNS = {  # marker: (folder under --runs-dir with its table.md, the command that fills it)
    "exp5": ("exp5_full/exp5_classic_mlp_fashion_mnist",
             "python examples/exp5_classic_mnist_mlp.py --dataset fashion_mnist "
             "--results-dir docs/runs/exp5_full"),
    "demo": ("demo", "python examples/demo.py --results-dir docs/runs"),
}
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RUNS = os.path.join(HERE, os.pardir, "docs", "runs")
DEFAULT_PAGE = os.path.join(HERE, os.pardir, "docs", "results.md")


def protocols(script: str) -> str:
    """The "Protocols" paragraph and its list, from the script's module docstring."""
    with open(os.path.join(HERE, script)) as stream:
        docstring = ast.get_docstring(ast.parse(stream.read())) or ""
    match = re.search(r"^Protocols.*?(?=\n\n(?!- )|\Z)", docstring, flags=re.S | re.M)
    return match.group(0).strip().replace("``", "`") if match else ""


def table_body(folder: str, heading: str = "####") -> str | None:
    """A results folder's table.md without its own title, captions at ``heading``."""
    path = os.path.join(folder, "table.md")
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        body = stream.read().split("\n", 1)[1].strip()  # drop the file's own title
    body = re.sub(r"\n{3,}", "\n\n", body)  # an untitled table leaves an empty caption
    return re.sub(r"^## ", f"{heading} ", body, flags=re.M)


def section(marker: str, dirs: dict[str, str], dataset: str) -> str:
    folder, script = EXPERIMENTS[marker]
    parts = [protocols(script)]
    for protocol, root in dirs.items():
        parts.append(f"#### {protocol.capitalize()} protocol")
        body = table_body(os.path.join(root, f"{folder}_{dataset}"), "#####")
        parts.append(body or f"Ours: **not run** on {dataset} yet "
                             f"(`python examples/{script} --{protocol} --dataset {dataset}`).")
    return "\n\n".join(parts).strip()


def single_section(marker: str, runs_dir: str) -> str:
    folder, command = SINGLE_RUNS[marker]
    return table_body(os.path.join(runs_dir, folder)) or f"**not run** yet (`{command}`)."


def claims_section(judged: list, dataset: str, protocol: str, legend: bool,
                   short_runs: list | None = None) -> str:
    """The claims ``judged`` on ``protocol``'s records (``claims.judge_all``), with the legend
    where ``legend``; with ``short_runs`` (the reduced protocols' verdicts), each claim's
    short-run verdict beside it."""
    counts = {v: sum(j.verdict == v for _, j in judged) for v in claims.VERDICTS}
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    head = (f"Protocol judged: **{claims.PROTOCOLS[protocol]}**. Dataset: {dataset}. "
            f"{len(judged)} claims: {summary}.")
    notes = [part.replace("``", "`") for part in claims.__doc__.strip().split("\n\n")[2:]]
    return "\n\n".join([head, *(notes if legend else []),
                        claims.claims_table(judged, short_runs)]).strip()


def cost_section(dirs: dict[str, str], dataset: str) -> str:
    """What each protocol's runs cost, from the run records: finished runs of the planned
    ones (a summary lists every planned run, "not run" where it has not finished), their
    training hours, minutes a run, and, where runs remain, their count times the median."""
    parts = []
    for protocol, root in dirs.items():
        rows, totals = [], [0, 0, 0.0, 0.0]  # finished, planned, hours, hours left
        unstarted = 0
        for folder, _ in EXPERIMENTS.values():
            path = os.path.join(root, f"{folder}_{dataset}", "summary.json")
            if not os.path.exists(path):
                rows.append(f"| {folder} | no run yet | | | |")
                unstarted += 1
                continue
            with open(path) as stream:
                entries = [e for by_method in json.load(stream)["runs"].values()
                           for e in by_method.values()]
            minutes = sorted(e["seconds"] / 60 for e in entries if not e.get("not_run"))
            left = len(entries) - len(minutes)
            hours = sum(minutes) / 60
            median = statistics.median(minutes) if minutes else math.nan
            hours_left = left * median / 60 if left else 0.0
            totals = [totals[0] + len(minutes), totals[1] + len(entries), totals[2] + hours,
                      totals[3] + hours_left]
            spread = (f"{median:.1f} ({minutes[0]:.1f}-{minutes[-1]:.1f})" if minutes
                      else "")
            rows.append(f"| {folder} | {len(minutes)} / {len(entries)} | {hours:.2f} | "
                        f"{spread} | {hours_left:.1f} |")
        rows.append(f"| all | {totals[0]} / {totals[1]} | {totals[2]:.2f} | | "
                    f"{totals[3]:.1f}" + (f", and {unstarted} experiment"
                                          f"{'s' if unstarted > 1 else ''} with no run yet"
                                          if unstarted else "") + " |")
        parts.append(f"### {claims.PROTOCOLS[protocol].capitalize()}\n\n"
                     "| experiment | runs finished / planned | training hours | "
                     "minutes a run: median (range) | hours left (estimate) |\n"
                     "|---|---|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts)


def replace_block(page: str, marker: str, content: str) -> str:
    begin, end = f"<!-- results:{marker} -->", f"<!-- /results:{marker} -->"
    if begin not in page or end not in page:
        raise ValueError(f"the page has no {begin} ... {end} block")
    head, rest = page.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}\n{end}{tail}"


# -- the records behind every number ---------------------------------------------------------
def check_records(folder: str) -> list[str]:
    """Where a results folder's summary.json disagrees with its run records: one line each."""
    path = os.path.join(folder, "summary.json")
    if not os.path.exists(path):
        return []
    with open(path) as stream:
        summary = json.load(stream)
    problems = []
    for seed, by_method in summary.get("runs", {}).items():
        for method, entry in by_method.items():
            if entry.get("not_run"):
                continue
            run = results.run_name(method, seed)
            record_path = results.run_file(folder, run, ".json")
            if not os.path.exists(record_path):
                problems.append(f"{folder}: no record of {run!r}")
                continue
            with open(record_path) as stream:
                if json.load(stream) != entry:
                    problems.append(f"{folder}: summary.json's {run!r} differs from its record")
            curve = results.run_file(folder, run, ".csv")
            if not os.path.exists(curve):
                problems.append(f"{folder}: no curve of {run!r} ({os.path.basename(curve)})")
                continue
            accuracy = results.read_history(curve).get("val_accuracy") or [float("nan")]
            final = entry.get("final_test_accuracy", float("nan"))
            if not (math.isclose(100.0 * accuracy[-1], final, rel_tol=0, abs_tol=1e-9)
                    or (entry.get("diverged") and not math.isfinite(final))):
                problems.append(f"{folder}: {run!r} final accuracy {final} is not its curve's "
                                f"last evaluation")
    problems += _check_read_at(folder, summary)
    problems += _check_range_test(folder, summary)
    return problems


def _check_range_test(folder: str, summary: dict) -> list[str]:
    """Experiment 7's range-test bounds recomputed from the test's curve by Smith's rule
    (``tf_lropt.search.suggest``, as ``CyclicalRecipe.find`` reads them)."""
    bounds = summary.get("range_test") or {}
    if bounds.get("base_lr") is None:
        return []
    path = os.path.join(folder, "lr_range_test.csv")
    if not os.path.exists(path):
        return [f"{folder}: no curve of the range test ({os.path.basename(path)})"]
    from tf_lropt.search import suggest

    curve = results.read_history(path)
    found = suggest(curve["learning_rate"],
                    {name: curve[name] for name in ("accuracy", "loss") if name in curve})
    if not all(value is not None and math.isclose(value, bounds[name], rel_tol=1e-12)
               for name, value in (("base_lr", found.base_lr), ("max_lr", found.max_lr))):
        return [f"{folder}: range test bounds {bounds['base_lr']}, {bounds['max_lr']} are not "
                f"its curve's ({found.base_lr}, {found.max_lr})"]
    return []


def _check_read_at(folder: str, summary: dict) -> list[str]:
    """Experiment 7's read-outs recomputed from the curves."""
    if "read_at" not in summary:
        return []
    from exp7_cyclical_caffe import accuracy_at

    factor, period = summary["factor"], summary["provenance"]["protocol"]["period"]
    problems = []
    for method, cells in summary["read_at"].items():
        for n, values in cells.items():
            for seed, value in zip(summary["runs"], values, strict=True):
                curve = results.run_file(folder, results.run_name(method, seed), ".csv")
                if not os.path.exists(curve):
                    expected = None
                else:
                    entry = summary["runs"][seed].get(method, {})
                    expected = float("nan") if entry.get("diverged") else accuracy_at(
                        results.read_history(curve), round(int(n) * factor), period)
                same = (value == expected or (
                    value is not None and expected is not None and math.isnan(value)
                    and math.isnan(expected)))
                if not same:
                    problems.append(f"{folder}: read_at[{method!r}][{n}] seed {seed} is "
                                    f"{value}, its curve gives {expected}")
    return problems


def build(page: str, runs_dir: str, dataset: str = "fashion_mnist",
          dirs: dict[str, str] | None = None, verify_records: bool = True) -> str:
    """The page with every generated block rebuilt from the records under ``runs_dir``
    (``verify_records=False``: from summaries alone, for summaries made without runs)."""
    dirs = dirs or {p: os.path.join(runs_dir, d) for p, d in PROTOCOL_DIRS.items()}
    problems = [p for root in dirs.values() for folder, _ in EXPERIMENTS.values()
                for p in check_records(os.path.join(root, f"{folder}_{dataset}"))
                ] if verify_records else []
    if problems:
        raise ValueError("summaries that disagree with their run records:\n" +
                         "\n".join(problems))
    for marker in EXPERIMENTS:
        page = replace_block(page, marker, section(marker, dirs, dataset))
    for marker in SINGLE_RUNS:
        if f"<!-- results:{marker} -->" in page:
            page = replace_block(page, marker, single_section(marker, runs_dir))
    if "<!-- results:cost -->" in page:
        page = replace_block(page, "cost", cost_section(dirs, dataset))
    # The reduced verdicts are judged once: their own table and the medium table's column.
    medium, reduced = (claims.judge_all(dirs[protocol], dataset, protocol)
                       for protocol in ("medium", "reduced"))
    page = replace_block(page, "claims", claims_section(medium, dataset, "medium", True,
                                                        short_runs=reduced))
    return replace_block(page, "claims-reduced", claims_section(reduced, dataset, "reduced",
                                                                False))


def publish(runs_dir: str, page_path: str, dataset: str = "fashion_mnist",
            dirs: dict[str, str] | None = None) -> str:
    with open(page_path) as stream:
        page = build(stream.read(), runs_dir, dataset, dirs)
    with open(page_path, "w") as stream:
        stream.write(page)
    return page


def check(runs_dir: str, page_path: str, dataset: str = "fashion_mnist") -> str:
    """The unified diff between the page and what the records give ("" where equal)."""
    with open(page_path) as stream:
        page = stream.read()
    rebuilt = build(page, runs_dir, dataset)
    return "".join(difflib.unified_diff(page.splitlines(True), rebuilt.splitlines(True),
                                        page_path, "rebuilt from the run records"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS,
                        help="the committed records (default: docs/runs)")
    parser.add_argument("--medium-dir", default=None,
                        help="the medium protocols' results (default: RUNS_DIR/medium)")
    parser.add_argument("--reduced-dir", "--results-dir", dest="reduced_dir", default=None,
                        help="the reduced protocols' results (default: RUNS_DIR/exp10)")
    parser.add_argument("--page", default=DEFAULT_PAGE)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail with a diff where the page differs")
    args = parser.parse_args(argv)
    if args.check:
        if args.medium_dir or args.reduced_dir:
            parser.error("--check rebuilds from --runs-dir only (the committed records)")
        try:
            diff = check(args.runs_dir, args.page, args.dataset)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 1
        if diff:
            sys.stdout.write(diff)
            print(f"\n{args.page} differs from its run records: run "
                  "examples/publish_results.py", file=sys.stderr)
            return 1
        print(f"{args.page} matches the run records under {args.runs_dir}")
        return 0
    dirs = {"medium": args.medium_dir or os.path.join(args.runs_dir, PROTOCOL_DIRS["medium"]),
            "reduced": args.reduced_dir or os.path.join(args.runs_dir, PROTOCOL_DIRS["reduced"])}
    publish(args.runs_dir, args.page, args.dataset, dirs)
    print(f"wrote {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
