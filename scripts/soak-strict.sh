#!/usr/bin/env bash
# Soak: the whole lab, up -> calls -> tune -> load (short) -> down, ROUNDS times (5) on the strict
# local stack, and after each down an inventory of the account (every table, function, REST API,
# role, customer policy and log group, read straight from the stack's APIs) that must be empty.
# Exits non-zero at the first failure or leftover; prints one line per round and a total.
#
# Knobs (environment): ROUNDS (5), TIME_SCALE (0.05), LAB_BIN (default: target/debug/lab, built).
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
ROUNDS=${ROUNDS:-5}
SCALE=${TIME_SCALE:-0.05}
start_strict_stack "$SCALE"
auth() { echo "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/$1/aws4_request, SignedHeaders=host, Signature=0"; }

# Everything the account holds, as "kind count" lines (read from the APIs, not from lab).
inventory() {
    local tables functions apis roles policies groups
    tables=$(curl -sf -X POST "$ENDPOINT/" -H "authorization: $(auth dynamodb)" \
        -H 'x-amz-target: DynamoDB_20120810.ListTables' -H 'content-type: application/x-amz-json-1.0' -d '{}' |
        py "$ROOT/scripts/soak_strict.py" tables)
    functions=$(curl -sf "$ENDPOINT/2015-03-31/functions/" -H "authorization: $(auth lambda)" |
        py "$ROOT/scripts/soak_strict.py" functions)
    apis=$(curl -sf "$ENDPOINT/restapis" -H "authorization: $(auth apigateway)" |
        py "$ROOT/scripts/soak_strict.py" rest_apis)
    roles=$(curl -sf -X POST "$ENDPOINT/" -H "authorization: $(auth iam)" \
        -d 'Action=ListRoles&Version=2010-05-08' | py "$ROOT/scripts/soak_strict.py" roles)
    policies=$(curl -sf -X POST "$ENDPOINT/" -H "authorization: $(auth iam)" \
        -d 'Action=ListPolicies&Scope=Local&Version=2010-05-08' | py "$ROOT/scripts/soak_strict.py" policies)
    groups=$(curl -sf -X POST "$ENDPOINT/" -H "authorization: $(auth logs)" \
        -H 'x-amz-target: Logs_20140328.DescribeLogGroups' -H 'content-type: application/x-amz-json-1.1' -d '{}' |
        py "$ROOT/scripts/soak_strict.py" log_groups)
    echo "tables=$tables functions=$functions rest_apis=$apis roles=$roles policies=$policies log_groups=$groups"
}

failures=0
started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    log=$WORK/round-$round.log
    if {
        lab up --bootstrap "$BOOTSTRAP" &&
        lab call create --id 1 --name Bob &&
        lab call read --id 1 &&
        lab call list &&
        lab tune --powers 128,256 --num 5 &&
        lab load --vus 2 --duration 2s --memory 128,256 &&
        lab down --yes
    } >"$log" 2>&1; then
        left=$(inventory)
        if [ "$left" = "tables=0 functions=0 rest_apis=0 roles=0 policies=0 log_groups=0" ]; then
            echo "round $round: ok in $(since "$t0" 1) s; account empty"
            continue
        fi
        echo "round $round: down left resources behind: $left"
    else
        echo "round $round: failed; its log:"
        tail -n 20 "$log"
    fi
    failures=$((failures + 1))
    break
done
refusals=$(curl -sf "$ENDPOINT/_lab/status" | py "$ROOT/scripts/soak_strict.py" refusals)
echo "soak: $ROUNDS rounds at time scale $SCALE, $failures failed, $(( $(date +%s) - started )) s; strict refusals met: $refusals"
exit "$failures"
