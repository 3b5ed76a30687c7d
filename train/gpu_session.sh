#!/bin/bash
# One whole device call: trains the models named in MODELS concurrently on
# the one GPU, exports them, writes reference vectors and the integer
# heldout evaluation, and leaves everything under $OUT.
#
# Run from the repository root on the GPU machine, with .carry/ carried:
#   .carry/corpora/{train,heldout}/*.xz   (copies of ../shared/corpora)
#   .carry/init/NAME.lmzm                 (optional: resume NAME from it;
#                                          INIT_DIR overrides, e.g. ../models)
# Environment: MINUTES (training minutes for the big models, default 7),
#   MODELS (default "tiny small1 small2 large"); tiny trains for 1 minute;
#   LR (peak learning rate, default 2e-3).
set -u
OUT=${OUT:-/tmp/lmz-out}
mkdir -p "$OUT" /tmp/work
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
C=../.carry/corpora
MINUTES=${MINUTES:-6.5}
MODELS=${MODELS:-"tiny small1 small2 large"}
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv | tee "$OUT/session.log"

# name embed hidden layers batch chunk
arch() {
  case $1 in
    tiny) echo "32 32 1 128 256" ;;
    small1) echo "256 256 1 256 256" ;;
    small2) echo "256 256 2 256 256" ;;
    # one-layer candidates for `small` at the CPU floor, larger batches
    small256) echo "256 256 1 1024 256" ;;
    small320) echo "320 320 1 1024 256" ;;
    small384) echo "384 384 1 1024 256" ;;
    small512) echo "512 512 1 1024 256" ;;
    mid) echo "512 512 2 256 256" ;;
    large) echo "1024 1024 2 256 256" ;;
  esac
}

train_one() {  # name minutes
  local n=$1 m=$2
  [ $n = tiny ] && m=1
  set -- $(arch "$n")
  local init=""
  [ -f ${INIT_DIR:-../.carry/init}/$n.lmzm ] && init="--resume ${INIT_DIR:-../.carry/init}/$n.lmzm"
  python3 train.py --name "$n" --embed $1 --hidden $2 --layers $3 --batch $4 --chunk $5 \
    --corpora $C/train --out /tmp/work --minutes "$m" --lr ${LR:-2e-3} $init 2>&1 | grep --line-buffered -v Warn \
    | tee /tmp/work/$n.log >> "$OUT/session.log"
  [ -f /tmp/work/$n.lmzm ] || { echo "train $n failed" | tee -a "$OUT/session.log"; return 1; }
  if [ $(stat -c %s /tmp/work/$n.lmzm) -gt 15000000 ]; then
    split -b 15000000 -d /tmp/work/$n.lmzm "$OUT/$n.lmzm.part"
  else
    cp /tmp/work/$n.lmzm "$OUT/"
  fi
  [ $n = tiny ] && python3 intref.py refvec /tmp/work/$n.lmzm "$OUT/$n.ref.txt" >> "$OUT/session.log" 2>&1
  timeout ${EVAL_SECONDS:-100} python3 intref.py eval /tmp/work/$n.lmzm /tmp/work/held/* 2>&1 \
    | sed -u "s/^/[$n] eval /" >> "$OUT/session.log"
}

# The heldout prose and documentation files (not the logs), for evaluation only.
mkdir -p /tmp/work/held
for f in $(ls $C/heldout/*.xz | grep -v /log-); do xz -dc $f > /tmp/work/held/$(basename $f .xz); done

pids=""
for n in $MODELS; do
  train_one "$n" "$MINUTES" &
  pids="$pids $!"
done
wait $pids

grep -h "done:\|val_" "$OUT/session.log" | tail -30
