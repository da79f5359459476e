"""Writes the measured tables of experiments 1, 2, 3, 4 and 7 and the claims table into a page.

    python examples/publish_results.py --results-dir results/campaign --page docs/results.md

For each experiment the page gets, between its ``<!-- results:expN -->`` and
``<!-- /results:expN -->`` markers: the protocols (from the script's docstring, the one place
they are written), then the experiment's ``table.md`` (paper and ours in separate columns, and
the provenance line naming dataset, epochs, model, seeds, hardware and wall time), or "not run"
with the command that runs it. Between ``<!-- results:claims -->`` markers goes the claims table
(``_harness/claims.py``). Everything else on the page (experiments 5 and 6, the demo) is kept.
Run the experiments with ``--publish-only`` first to refresh a table from partial results.
"""

from __future__ import annotations

import argparse
import ast
import os
import re

from _harness import claims

EXPERIMENTS = {  # marker: (results folder prefix, script)
    "exp1": ("exp1_warmup_adabound", "exp1_warmup_adabound.py"),
    "exp2": ("exp2_robust_ablation", "exp2_robust_ablation.py"),
    "exp3": ("exp3_robust_optimizers", "exp3_robust_optimizers.py"),
    "exp4": ("exp4_robust_grid", "exp4_robust_grid.py"),
    "exp7": ("exp7_cyclical_caffe", "exp7_cyclical_caffe.py"),
}
HERE = os.path.dirname(os.path.abspath(__file__))


def protocols(script: str) -> str:
    """The "Protocols" paragraph and its list, from the script's module docstring."""
    with open(os.path.join(HERE, script)) as stream:
        docstring = ast.get_docstring(ast.parse(stream.read())) or ""
    match = re.search(r"^Protocols.*?(?=\n\n(?!- )|\Z)", docstring, flags=re.S | re.M)
    return match.group(0).strip().replace("``", "`") if match else ""


def section(marker: str, results_dir: str, dataset: str) -> str:
    folder, script = EXPERIMENTS[marker]
    parts = [protocols(script), ""]
    table = os.path.join(results_dir, f"{folder}_{dataset}", "table.md")
    if os.path.exists(table):
        with open(table) as stream:
            body = stream.read().split("\n", 1)[1].strip()  # drop the file's own title
        parts.append(re.sub(r"^## ", "#### ", body, flags=re.M))
    else:
        parts.append(f"Ours: **not run** on {dataset} yet "
                     f"(`python examples/{script} --dataset {dataset}`).")
    return "\n".join(parts).strip()


def claims_section(results_dir: str, dataset: str) -> str:
    judged = claims.judge_all(results_dir, dataset)
    counts = {v: sum(j.verdict == v for _, j in judged)
              for v in (claims.HELD, claims.NOT_HELD, claims.INCONCLUSIVE, claims.NOT_RUN)}
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    legend = [part.replace("``", "`") for part in claims.__doc__.strip().split("\n\n")[2:]]
    return "\n\n".join([f"Dataset: {dataset}. {len(judged)} claims: {summary}.", *legend,
                        claims.claims_table(judged)]).strip()


def replace_block(page: str, marker: str, content: str) -> str:
    begin, end = f"<!-- results:{marker} -->", f"<!-- /results:{marker} -->"
    if begin not in page or end not in page:
        raise ValueError(f"the page has no {begin} ... {end} block")
    head, rest = page.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}\n{end}{tail}"


def publish(results_dir: str, page_path: str, dataset: str = "fashion_mnist") -> str:
    with open(page_path) as stream:
        page = stream.read()
    for marker in EXPERIMENTS:
        page = replace_block(page, marker, section(marker, results_dir, dataset))
    page = replace_block(page, "claims", claims_section(results_dir, dataset))
    with open(page_path, "w") as stream:
        stream.write(page)
    return page


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", required=True)
    parser.add_argument("--page", default=os.path.join(HERE, os.pardir, "docs", "results.md"))
    parser.add_argument("--dataset", default="fashion_mnist")
    args = parser.parse_args(argv)
    page = publish(args.results_dir, args.page, args.dataset)
    print(f"wrote {args.page}")
    return page


if __name__ == "__main__":
    main()
