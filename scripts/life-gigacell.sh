#!/bin/bash
# 32768x32768 random torus, 2 generations, 2 worker processes: the head's peak RSS (VmHWM) and the --out stream
set -e
D=$(mktemp -d /tmp/bramble-life-big-XXXX)
export BRAMBLE_DATA=$D
B="$(dirname "$0")/../bin/bramble.js"
node $B head --data $D --bind 127.0.0.1 --port 17931 --http-port 17932 --log-level error > $D/head.out 2>&1 &
HP=$!
while [ ! -f $D/head.json ]; do sleep 0.2; done
node $B worker --head 127.0.0.1:17931 --data $D --slots 1 --instance 1 --name w1 --log-level error &
W1=$!
node $B worker --head 127.0.0.1:17931 --data $D --slots 1 --instance 2 --name w2 --log-level error &
W2=$!
sleep 3
T0=$(date +%s)
node $B submit life --data $D --size 32768x32768 --generations 2 --random 0.5 --seed 1 --workers 2 --wait --json > $D/result.json
T1=$(date +%s)
ID=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$D/result.json','utf8')).id)")
node $B result $ID --data $D --out $D/final.rle > /dev/null
T2=$(date +%s)
grep VmHWM /proc/$HP/status
echo "job $((T1-T0)) s, --out $((T2-T1)) s, rle $(stat -c %s $D/final.rle) bytes, checkpoint $(du -sh $D/life | cut -f1)"
head -c 200 $D/result.json; echo
kill $W1 $W2 $HP
rm -rf $D
