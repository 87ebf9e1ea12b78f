# The start-and-wait code scripts/bench and scripts/soak share: their processes and the
# cleanup that stops them, daxd started on loopback and waited for, an IAM role for DAX,
# and a cluster's node waited for until it listens. Sourced (not run) from the repository
# root, after `set -euo pipefail`; it expects DAXD and LG (the release binaries), TMP (a
# temporary directory), ACCOUNT, and LOADGEN_ACCESS_KEY_ID / LOADGEN_SECRET_ACCESS_KEY (the
# root keys daxd is started with and daxd-loadgen signs with).

log() { printf '\n==> %s\n' "$*" >&2; }

# Every process started: stopped, and TMP (once made) removed, when the script exits (also
# on Ctrl-C).
# LOADS holds load processes a script may start and wait for itself.
PIDS=()
LOADS=()
cleanup() {
  for pid in "${LOADS[@]}" "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${LOADS[@]}" "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  [ -z "${TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # port, name
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not listen on port $1" >&2
  exit 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# CPU time (utime + stime) of process $1 in clock ticks (`getconf CLK_TCK` a second), from
# /proc/<pid>/stat; the fields counted after the command name, which may hold spaces.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# daxd on an ephemeral loopback port with its data in $TMP/daxd and no provisioning delay,
# its DAX nodes on the given port range, its output in the given log; waits until it prints
# its `daxd ready:` line (30 s at most). Sets DAXD_PID and DAXD_URL.
start_daxd() {  # log file, DAX port range
  "$DAXD" serve --listen 127.0.0.1:0 --data-dir "$TMP/daxd" --provisioning-delay-ms 0 --dax-ports "$2" \
    --root-access-key-id "$LOADGEN_ACCESS_KEY_ID" --root-secret-access-key "$LOADGEN_SECRET_ACCESS_KEY" \
    > "$1" 2>&1 &
  DAXD_PID=$!
  PIDS+=("$DAXD_PID")
  for _ in $(seq 1 300); do
    grep -q '^daxd ready:' "$1" && break
    kill -0 "$DAXD_PID" 2>/dev/null || { cat "$1" >&2; exit 1; }
    sleep 0.1
  done
  DAXD_URL=$(grep -m1 '^daxd ready:' "$1" | sed 's/.* on \([^ ]*\).*/\1/')
  [ -n "$DAXD_URL" ] || { echo "daxd did not become ready" >&2; cat "$1" >&2; exit 1; }
}

urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# The IAM role a DAX cluster is created with: trusted by DAX, with DynamoDB full access.
create_dax_role() {  # role name
  local trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"dax.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  "$LG" call --endpoint "$DAXD_URL" --service iam --accept-error EntityAlreadyExists \
    --body "Action=CreateRole&Version=2010-05-08&RoleName=$1&AssumeRolePolicyDocument=$(urlenc "$trust")" > /dev/null
  "$LG" call --endpoint "$DAXD_URL" --service iam \
    --body "Action=AttachRolePolicy&Version=2010-05-08&RoleName=$1&PolicyArn=$(urlenc arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess)" > /dev/null
}

node_port() {  # cluster → port of its first node, once available and listening (20 s at most)
  local port=""
  for _ in $(seq 1 200); do
    port=$("$LG" call --endpoint "$DAXD_URL" --service dax --target AmazonDAXV3.DescribeClusters \
      --body "{\"ClusterNames\":[\"$1\"]}" | python3 -c '
import json, sys
c = json.load(sys.stdin)["Clusters"][0]
nodes = c.get("Nodes") or []
ok = c["Status"] == "available" and nodes and all(n.get("NodeStatus") == "available" for n in nodes)
print(nodes[0]["Endpoint"]["Port"] if ok else "")')
    if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    sleep 0.1
  done
  echo "cluster $1 did not come up" >&2
  exit 1
}

# The IAM user `benchuser` with a realistic identity policy (several statements, one with
# conditions), for the runs that measure what IAM evaluation costs: root requests skip the
# evaluation. Sets USER_KEY and USER_SECRET, the user's new access key.
create_bench_user() {
  local POLICY
  POLICY='{"Version":"2012-10-17","Statement":[
   {"Sid":"Read","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query"],"Resource":["arn:aws:dynamodb:*:*:table/bench","arn:aws:dynamodb:*:*:table/bench/index/*"],
    "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},"Bool":{"aws:SecureTransport":"false"}}},
   {"Sid":"Write","Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:UpdateItem"],"Resource":"arn:aws:dynamodb:*:*:table/bench",
    "Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["w*","k*"]}}},
   {"Sid":"NoDeletes","Effect":"Deny","Action":["dynamodb:DeleteItem","dynamodb:DeleteTable"],"Resource":"*"},
   {"Sid":"Describe","Effect":"Allow","Action":["dynamodb:Describe*","dynamodb:List*"],"Resource":"*"}]}'
  "$LG" call --endpoint "$DAXD_URL" --service iam --accept-error EntityAlreadyExists \
    --body "Action=CreateUser&Version=2010-05-08&UserName=benchuser" > /dev/null
  "$LG" call --endpoint "$DAXD_URL" --service iam \
    --body "Action=PutUserPolicy&Version=2010-05-08&UserName=benchuser&PolicyName=bench&PolicyDocument=$(urlenc "$POLICY")" > /dev/null
  read -r USER_KEY USER_SECRET < <("$LG" call --endpoint "$DAXD_URL" --service iam \
    --body "Action=CreateAccessKey&Version=2010-05-08&UserName=benchuser" | python3 -c '
import re, sys
x = sys.stdin.read()
print(re.search(r"<AccessKeyId>([^<]+)", x).group(1), re.search(r"<SecretAccessKey>([^<]+)", x).group(1))')
}
