#!/usr/bin/env bash
# GPU check, at most 8 minutes on one GPU (needs paddlepaddle-gpu and a visible GPU):
#   1. the main command for 2 epochs (configs/oct_mobilenet.yaml, Global.device: auto -> the GPU),
#   2. tools/benchmark.py for resnet50, oct_resnet50, mobilenet_v1 and oct_mobilenet at batch
#      1/32/128, --mode infer,train, --amp off,on (paths dygraph and the GPU predictor; to_static
#      is left out to stay within the time), printing one table (and JSON in the output folder).
# Each step runs under `timeout` with what is left of the budget.
#
#   benchmarks/gpu_check.sh [--dry-run] [--python PY] [--out DIR] [--budget SECONDS]
#
# --dry-run prints the commands without running them (works without a GPU).
# Exit status: 0 on success, 2 on a bad argument or no GPU, else the failing step's status.
set -euo pipefail

usage="usage: benchmarks/gpu_check.sh [--dry-run] [--python PY] [--out DIR] [--budget SECONDS]"
python_bin="${PYTHON:-python}"
out=""
dry_run=0
budget=480

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1; shift ;;
    --python|--out|--budget)
      if [[ $# -lt 2 ]]; then echo "error: $1 needs a value; $usage" >&2; exit 2; fi
      case "$1" in --python) python_bin="$2" ;; --out) out="$2" ;; --budget) budget="$2" ;; esac
      shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "error: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
done
if ! [[ "$budget" =~ ^[0-9]+$ ]] || (( budget < 60 )); then
  echo "error: --budget '$budget' must be a whole number of seconds >= 60, e.g. --budget 480" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${out:-$(mktemp -d -t gpu_check.XXXXXX)}"
start=$(date +%s)

run() {  # print the command; run it under the time left unless --dry-run
  echo "+ $*"
  if (( dry_run )); then return 0; fi
  local left=$(( budget - ($(date +%s) - start) ))
  if (( left < 10 )); then echo "error: the ${budget}s budget is spent before: $*" >&2; return 124; fi
  timeout "$left" "$@"
}

if (( ! dry_run )); then
  device=$("$python_bin" -c "from paddle_conv.device import available_device; print(available_device())")
  if [[ "$device" != "gpu" ]]; then
    echo "error: Paddle sees no GPU (a CPU build, or no device visible); run this on a GPU machine with" \
         "paddlepaddle-gpu, or pass --dry-run to print the commands" >&2
    exit 2
  fi
  mkdir -p "$out"
fi

run "$python_bin" tools/train.py -c configs/oct_mobilenet.yaml -o Global.epochs=2 \
  -o "Global.output_dir=$out/train/" -o Global.use_visualdl=false
run "$python_bin" tools/benchmark.py --models resnet50,oct_resnet50,mobilenet_v1,oct_mobilenet \
  --batch 1,32,128 --mode infer,train --amp off,on --paths dygraph,inference --size 224 \
  --runs 5 --warmup 2 --json "$out/gpu_check.json"
echo "gpu_check: done in $(( $(date +%s) - start ))s; results in $out"
