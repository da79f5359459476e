"""Rewrite the in-progress table of experiment 6 at the paper's scale on docs/results_exp6.md.

The full search (issue 16) runs over many sittings; this reads the finished trial records that
the explorer writes (``<explorer dir>/trials/*.json``) and replaces the status paragraph and the
trial table between the "## The paper's setting" heading's protocol paragraph and "## Our runs".

    python scripts/exp6_progress.py docs/runs/exp6_full docs/results_exp6.md
"""

from __future__ import annotations

import argparse
import json
import pathlib

HEADING = "## The paper's setting (issue 16)"
NEXT_HEADING = "## Our runs"
STATUS_START = "**Status:"
WORST_CASE_TRIALS = 69
PAPER_RATES = "0.00041 and 0.00038"
RESUME = ("Resume: copy `docs/runs/exp6_full/{explorer.json,trials}` into "
          "`<results>/exp6_lr_explorer_vae/explorer/` and run "
          "`python examples/exp6_lr_explorer_vae.py --keras-cache-dir ~/.keras/datasets "
          "--results-dir <results> --baseline-epochs 50 100 200 400`.")


def load_trials(explorer_dir: pathlib.Path) -> list[dict]:
    """Finished trials, by digit and then by falling rate (the order the search visits them)."""
    trials = [json.loads(p.read_text()) for p in (explorer_dir / "trials").glob("*.json")]
    return sorted(trials, key=lambda t: (t["digit"], -t["rate"]))


def section_body(trials: list[dict]) -> str:
    """The status paragraph and the trial table."""
    if not trials:
        return f"{STATUS_START} no trial has finished yet.**\n"
    epochs = sum(t["epochs"] for t in trials)
    hours = sum(t["seconds"] for t in trials) / 3600
    best = sorted(trials, key=lambda t: t["score"])[:2]
    best_text = " and ".join(f"{t['key']} ({t['score']:.2f})" for t in best)
    lines = [
        f"{STATUS_START} {len(trials)} of at most {WORST_CASE_TRIALS} trials finished "
        f"({epochs:,} epochs, {hours:.1f} h of trial wall time); exploitation, the budget table "
        "and the verdict on \"the explorer reaches NLL <= 235\" are not run yet.** Best so far: "
        f"{best_text} validation NLL after 50 epochs; the paper's explorer found {PAPER_RATES}.",
        "",
        "| digit | rate | best val NLL | best epoch | epochs | wall (s) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {t['digit']} | {t['key']} | {t['score']:.2f} | {t['best_epoch']} | "
              f"{t['epochs']} | {t['seconds']:.0f} |" for t in trials]
    lines += ["", RESUME]
    return "\n".join(lines) + "\n"


def rewrite(page: str, body: str) -> str:
    """``page`` with the old status paragraph and table replaced by ``body``."""
    start = page.index(HEADING)
    end = page.index(NEXT_HEADING, start)
    status = page.index(STATUS_START, start, end)
    return page[:status] + body + "\n" + page[end:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("explorer_dir", type=pathlib.Path)
    parser.add_argument("page", type=pathlib.Path)
    args = parser.parse_args(argv)
    body = section_body(load_trials(args.explorer_dir))
    args.page.write_text(rewrite(args.page.read_text(), body))


if __name__ == "__main__":
    main()
