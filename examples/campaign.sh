#!/usr/bin/env bash
# The campaigns of experiments 1, 2, 3, 4 and 7 on Fashion-MNIST, one run at a time, niced,
# resumable, ordered so that the most informative claims are decided first. SCALE (default
# reduced) picks the protocol of every script's docstring: reduced (the short runs of
# docs/runs/exp10) or medium (each method at its own time scale).
#
#   SCALE=medium examples/campaign.sh results/medium            # run (or resume) everything
#   COMMIT=1 SCALE=medium examples/campaign.sh results/medium   # also commit docs/ every run
#   DRY_RUN=1 SCALE=medium examples/campaign.sh results/medium  # only list the steps' commands
#   # Two processes, one a core: each trains every other run of the plan.
#   SHARD=0/2 SCALE=medium taskset -c 0 examples/campaign.sh results/medium &
#   SHARD=1/2 SCALE=medium taskset -c 1 examples/campaign.sh results/medium &
#
# Every step is one experiment script on some seeds and methods, trained one run (seed x
# method) at a time. Finished runs are skipped and an interrupted run resumes from its last
# finished evaluation period (BackupAndRestore), so killing and restarting this script loses at
# most one period. After every run that trained, the script's table and the claims table of
# docs/results.md are rebuilt from what has finished (publish_results.py), and the small result
# files (table.md, summary.json, PNGs, the range test's CSV, per-run CSV/JSON) are copied to
# docs/runs/exp10/ (reduced) or docs/runs/medium/ (and committed, with COMMIT=1). On a new
# checkout or machine, where RESULTS_DIR is gone, the finished runs are first copied back from
# there, so only the run that was in progress starts again (a machine that is taken away loses
# its backups and the uncommitted runs: publish every run, not every step).
#
# PYTHON (default: python) runs the scripts; NICE (default 10) is their niceness; ARCHIVE
# overrides the archive folder. Backend: the medium campaign runs on TensorFlow (KERAS_BACKEND
# overrides), where the harness augments in a tf.data pipeline beside a graph-mode step: on one
# core the step then costs about what a bare model.fit costs (bench/harness_step.py,
# docs/benchmarks.md), about a third of JAX with the augmentation compiled into the model. The
# reduced campaign stays on JAX, the backend its finished runs were trained on (a run on the
# other path is a new run).
#
# Reduced: measured costs per run in docs/results.md, "Cost of the campaign".
#
# Medium, estimated from CPU-seconds a step measured on one core (TensorFlow, graph mode,
# oneDNN; the harness's step and test passes; each script's docstring has the protocol):
#   exp1  plain CNN 16-32-64, 10,000 images, 7,800 steps: 0.115 CPU-s a step, 3.4 a test pass
#         x 10: about 16 CPU-minutes a run; 7 methods x 3 seeds = 21 runs: 5.5 CPU-hours (a
#         780-step period of AdaBound with its test pass and start-up took 108 CPU-seconds)
#   exp2  ResNet-20, 60,000 images, 2,000 steps: 0.47 CPU-s a harness step, 11 a test pass x 8:
#         about 17 CPU-minutes a run; 5 rows x 3 seeds = 15 runs: 4.3 CPU-hours
#   exp3  as exp2, 10 of the 18 arms x 3 seeds = 30 runs: 8.6 CPU-hours (AdamW, AdaBelief and
#         Adam at 0.01 / 0.001 cut for the budget; its docstring says why). Its first run
#         (RAdaBeliefW lr 0.01, seed 0) took 1,016 CPU-seconds (17 CPU-minutes) in all.
#   exp4  ResNet-34 at 1/4 width, 60,000 images, 2,000 steps: 0.72 CPU-s a bare step (about
#         0.77 in the harness), 18 a test pass x 8: about 29 CPU-minutes a cell (a 250-step
#         period with its test pass and start-up took 246 CPU-seconds); 9 cells, seed 0: 4.3
#         CPU-hours
#   exp7  estimated 5 CPU-hours; measured about 0.9 CPU-hours a seed, 2.8 for three (its
#         docstring)
#   in all about 28 CPU-hours: about 14 hours on two cores (SHARD=0/2 and SHARD=1/2).
# Those are CPU-seconds of one process on a core of its own; on a shared machine a run's wall
# time is longer by the other processes' share of the core.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: examples/campaign.sh RESULTS_DIR}
python=${PYTHON:-python}
nice=${NICE:-10}
scale=${SCALE:-reduced}
case $scale in
    reduced) archive=docs/runs/exp10 default_backend=jax ;;
    medium) archive=docs/runs/medium default_backend=tensorflow ;;
    *) echo "SCALE must be reduced or medium, got '$scale'" >&2; exit 2 ;;
esac
archive=${ARCHIVE:-$archive}  # where finished runs are published (the tests' own folder)
shard=${SHARD:-0/1}  # i/n: train only runs i, i + n, i + 2n, ... of the plan
shard_index=${shard%/*} shard_count=${shard#*/}
run_number=0
common=(--"$scale" --dataset fashion_mnist --results-dir "$results")

restore() {  # finished runs of an earlier machine, from the archive; never overwrites
    [ -d "$archive" ] || return 0
    mkdir -p "$results"
    cp -rn "$archive"/. "$results"/ || true  # coreutils 9.2 exits 1 when -n skips a file
}

publish() {  # publish "message" script: its table, the results page, the archive, a commit
    local script=$2 folder
    # One shard at a time: two would write docs/results.md together and race for git's index.
    exec 9> "$results/.publish.lock"
    if command -v flock > /dev/null; then flock 9; fi
    # The script's table of what has finished ("not run" elsewhere), then the page from every
    # script's summary.json.
    nice -n "$nice" "$python" "examples/$script.py" "${common[@]}" --publish-only > /dev/null
    folder="$results/${script}_fashion_mnist"
    mkdir -p "$archive/$(basename "$folder")/runs"
    cp "$folder"/*.md "$folder"/*.json "$folder"/*.png "$folder"/*.csv \
        "$archive/$(basename "$folder")/" 2>/dev/null || true  # *.csv: the range test's curve
    cp "$folder"/runs/*.csv "$folder"/runs/*.json "$archive/$(basename "$folder")/runs/" \
        2>/dev/null || true
    # The page is built from the committed records (docs/runs: medium/, exp10/, ...), so what
    # it shows is what `publish_results.py --check` recomputes.
    "$python" examples/publish_results.py --page docs/results.md
    if [ -n "${COMMIT:-}" ]; then
        git add docs/results.md "$archive"
        git commit -q -m "results: $1" || true  # nothing new: nothing to commit
    fi
    exec 9>&-  # closing it releases the lock
}

step() {  # step "description" script [arguments...]
    local what=$1 script=$2 backend
    shift 2
    backend=${KERAS_BACKEND:-$default_backend}
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
        run_number=$((run_number + 1))
        [ $(((run_number - 1) % shard_count)) -eq "$shard_index" ] || continue
        touch "$stamp"
        # The later --seeds and --methods override the step's (argparse keeps the last).
        KERAS_BACKEND=$backend nice -n "$nice" "$python" "examples/$script.py" "${common[@]}" \
            "$@" --seeds "$seed" --methods "$method" < /dev/null
        # Publish only what trained now: a run finished earlier was published then. A
        # finished run is runs/<run>.json; the backups' JSON files (runs/<run>.backup/), which
        # the other shard writes every period, are not.
        if [ -n "$(find "$results" -path '*/runs/*.json' ! -path '*.backup/*' \
                   -newer "$stamp" -print -quit)" ]; then
            publish "$what: $method seed $seed" "$script"
        fi
    done <<< "$planned"
    rm -f "$stamp"
}

[ -n "${DRY_RUN:-}" ] || restore
key1=(AdaBound w10AdaBound w20AdaBound RAdam)
if [ "$scale" = medium ]; then
    # 1. Experiment 3's claims first (the flagship recipe's robustness), one seed of every
    #    arm, then the cheaper experiments' first seeds, then the remaining seeds.
    step "exp3 medium seed 0" exp3_robust_optimizers --seeds 0
    step "exp1 medium key methods seed 0" exp1_warmup_adabound --seeds 0 --methods "${key1[@]}"
    step "exp2 medium seed 0" exp2_robust_ablation --seeds 0
    step "exp4 medium 3 x 3 grid" exp4_robust_grid
    step "exp7 medium seed 0" exp7_cyclical_caffe --seeds 0
    step "exp3 medium seeds 1 2" exp3_robust_optimizers --seeds 1 2
    step "exp1 medium key methods seeds 1 2" exp1_warmup_adabound --seeds 1 2 \
        --methods "${key1[@]}"
    step "exp2 medium seeds 1 2" exp2_robust_ablation --seeds 1 2
    step "exp7 medium seeds 1 2" exp7_cyclical_caffe --seeds 1 2
    step "exp1 medium all methods" exp1_warmup_adabound
    [ -n "${DRY_RUN:-}" ] || echo "== $(date -u +%H:%M) campaign finished"
    exit 0
fi
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
