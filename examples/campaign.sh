#!/usr/bin/env bash
# The reduced campaigns of experiments 1, 2, 3, 4 and 7 on Fashion-MNIST, one process at a time,
# niced, resumable, ordered so that the most informative claims are decided first.
#
#   examples/campaign.sh results/campaign            # run (or resume) everything
#   COMMIT=1 examples/campaign.sh results/campaign   # also commit docs/ after every run
#   DRY_RUN=1 examples/campaign.sh results/campaign  # only list the steps' commands
#
# Every step is one experiment script on some seeds and methods (see each script's docstring
# for its reduced protocol), trained one run (seed x method) at a time. Finished runs are
# skipped and an interrupted run resumes from its last finished epoch (BackupAndRestore), so
# killing and restarting this script loses at most one epoch. After every run that trained,
# the script's table and the claims table of docs/results.md are rebuilt from what has
# finished (publish_results.py), and the small result files (table.md, summary.json, PNGs,
# per-run CSV/JSON) are copied to docs/runs/exp10/ (and committed, with COMMIT=1). On a new
# checkout or machine, where RESULTS_DIR is gone, the finished runs are first copied back from
# there, so only the run that was in progress starts again (a machine that is taken away loses
# its backups and the uncommitted runs: publish every run, not every step).
#
# PYTHON (default: python) runs the scripts; NICE (default 10) is their niceness. On a CPU the
# scripts run on JAX unless KERAS_BACKEND says otherwise (faster than TensorFlow for these
# models; measured costs per epoch and per run: docs/results.md, "Cost of the campaign").
# Beside other work, pin it to one core:  taskset -c 1 examples/campaign.sh results/campaign
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: examples/campaign.sh RESULTS_DIR}
python=${PYTHON:-python}
nice=${NICE:-10}
archive=docs/runs/exp10
common=(--reduced --dataset fashion_mnist --results-dir "$results")
scripts=(exp1_warmup_adabound exp2_robust_ablation exp3_robust_optimizers exp4_robust_grid
         exp7_cyclical_caffe)

restore() {  # finished runs of an earlier machine, from the archive; never overwrites
    [ -d "$archive" ] || return 0
    mkdir -p "$results"
    cp -rn "$archive"/. "$results"/ || true  # coreutils 9.2 exits 1 when -n skips a file
}

publish() {  # publish "message" script: its table, the results page, the archive, a commit
    local script=$2 folder
    # The script's table of what has finished ("not run" elsewhere), then the page from every
    # script's summary.json.
    nice -n "$nice" "$python" "examples/$script.py" "${common[@]}" --publish-only > /dev/null
    "$python" examples/publish_results.py --results-dir "$results" --page docs/results.md
    folder="$results/${script}_fashion_mnist"
    mkdir -p "$archive/$(basename "$folder")/runs"
    cp "$folder"/*.md "$folder"/*.json "$folder"/*.png "$archive/$(basename "$folder")/" \
        2>/dev/null || true
    cp "$folder"/runs/*.csv "$folder"/runs/*.json "$archive/$(basename "$folder")/runs/" \
        2>/dev/null || true
    if [ -n "${COMMIT:-}" ]; then
        git add docs/results.md "$archive"
        git commit -q -m "results: $1" || true  # nothing new: nothing to commit
    fi
}

step() {  # step "description" script [arguments...]
    local what=$1 script=$2 backend
    shift 2
    backend=${KERAS_BACKEND:-jax}
    if [ -n "${DRY_RUN:-}" ]; then  # list the steps, shell-quoted, without running them
        printf '%q ' "$script" "$@"
        echo
        return
    fi
    echo "== $(date -u +%H:%M) $what ($backend)"
    local planned kind seed method stamp
    planned=$(KERAS_BACKEND=$backend "$python" "examples/$script.py" "${common[@]}" "$@" \
              --list-runs)
    stamp=$(mktemp)
    while IFS=$'\t' read -r kind seed method; do
        [ "$kind" = run ] || continue
        touch "$stamp"
        # The later --seeds and --methods override the step's (argparse keeps the last).
        KERAS_BACKEND=$backend nice -n "$nice" "$python" "examples/$script.py" "${common[@]}" \
            "$@" --seeds "$seed" --methods "$method" < /dev/null
        # Publish only what trained now: a run finished earlier was published then.
        if [ -n "$(find "$results" -path '*/runs/*.json' -newer "$stamp" -print -quit)" ]; then
            publish "$what: $method seed $seed" "$script"
        fi
    done <<< "$planned"
    rm -f "$stamp"
}

[ -n "${DRY_RUN:-}" ] || restore
key1=(AdaBound w10AdaBound w20AdaBound RAdam)
key7=(fixed triangular2 exp_range decay exp)
# Experiment 3's claims need only these runs (NAG's loss at a small rate, Adam at 0.1, AdamW /
# RAdam / AdaBelief at 0.1 vs 0.01): their gaps are large, so a second seed decides them.
exp3claims=("NAG lr=0.1" "NAG lr=0.001" "Adam lr=0.1" "AdamW lr=0.1" "AdamW lr=0.01"
            "RAdam lr=0.1" "RAdam lr=0.01" "AdaBelief lr=0.1" "AdaBelief lr=0.01")
table3=("Nesterov fixed" "Nesterov triangular" "Adam fixed" "Adam triangular"  # with a claim
        "AdaGrad fixed" "AdaGrad triangular" "AdaDelta fixed" "AdaDelta triangular")
# 1. The cheapest complete claims first (experiment 1's key methods, three seeds), then two
#    seeds of the claims with the largest expected gaps, then one seed of experiment 3 (the only
#    experiment with no number yet) and a second seed of its claims' runs, then the third seeds.
step "exp1 key methods seeds 0 1 2" exp1_warmup_adabound --seeds 0 1 2 --methods "${key1[@]}"
step "exp2 seeds 0 1" exp2_robust_ablation --seeds 0 1
step "exp7 table 2 seeds 0 1" exp7_cyclical_caffe --seeds 0 1 --methods "${key7[@]}"
step "exp3 seed 0" exp3_robust_optimizers --seeds 0
step "exp3 seed 1 claim runs" exp3_robust_optimizers --seeds 1 --methods "${exp3claims[@]}"
step "exp2 seed 2" exp2_robust_ablation --seeds 2
step "exp7 table 2 seed 2" exp7_cyclical_caffe --seeds 2 --methods "${key7[@]}"
step "exp7 table 3 seeds 0 1 2" exp7_cyclical_caffe --seeds 0 1 2 --methods "${table3[@]}"
# 2. The optimizer comparison and the grid.
step "exp3 seeds 1 2" exp3_robust_optimizers --seeds 1 2
step "exp4 3 x 3 grid" exp4_robust_grid
# 3. The rest: the longer warm-ups and table 3's RMSprop (no claim of its own).
step "exp1 all methods" exp1_warmup_adabound
step "exp7 all methods" exp7_cyclical_caffe
[ -n "${DRY_RUN:-}" ] || echo "== $(date -u +%H:%M) campaign finished"
