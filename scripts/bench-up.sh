#!/usr/bin/env bash
# Benchmark: `lab up` from nothing and `lab down`, against the same steps scripted with the AWS CLI
# (PyPI awscli) as a person would script the tutorial's console steps. Both sides talk to the same
# backend in the same run: one `lab local serve` (moto, pinned in local/python/requirements.txt, behind
# lab's gateway) on 127.0.0.1.
#
# Prints figures only, no pass/fail: median wall time of up and of down for each side over BENCH_RUNS
# alternating rounds, the awscli/lab ratio, `lab up` again with nothing to change, and the handler's
# build time (kept out of the comparison: both sides deploy the same prebuilt zip). Records them, lab's
# beside the AWS CLI's, in bench/results/up.json (scripts/bench_record.py).
#
# Knobs (environment): BENCH_RUNS (3), LAB_BIN (a lab binary; default: build target/release/lab),
# BENCH_REBUILD_HANDLER=1 (rebuild target/lambda/bootstrap even if present),
# BOOTSTRAP (another prebuilt handler, e.g. a dev build for a quick check; recorded in the settings),
# XDG_CACHE_HOME.
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lab
AWSCLI_VENV=$CACHE/awscli-venv   # its own venv: awscli pins botocore, which would disturb bench-venv's boto3
RUNS=${BENCH_RUNS:-3}
REGION=us-east-1

# --- lab and the handler -------------------------------------------------------------------------------
# The handler is built once, outside the timed part: its build time is a property of the Rust toolchain,
# not of provisioning, and the AWS CLI side could not build it anyway.
build_lab release
build_handler lambda

# One deterministic zip (bootstrap at the root, mode 0755), deployed by both sides.
ZIP=$WORK/function.zip
make_zip "$ZIP" "$BOOTSTRAP" 755 bootstrap

# --- the AWS CLI ---------------------------------------------------------------------------------------
if ! "$AWSCLI_VENV/bin/aws" --version >/dev/null 2>&1; then
    say "installing awscli (PyPI) into $AWSCLI_VENV"
    python3 -m venv "$AWSCLI_VENV"
    "$AWSCLI_VENV/bin/pip" install -q --disable-pip-version-check awscli >&2
fi
AWS_BIN=$AWSCLI_VENV/bin/aws

# Both sides see only the local endpoint: one `lab local serve`, private state, free port.
isolate_aws_env
start_stack

# Every CLI call is logged, so the output can say how many calls each side's script made.
aws() { echo "$*" >>"$WORK/aws-calls"; "$AWS_BIN" --endpoint-url "$ENDPOINT" "$@"; }

# --- the console steps, scripted with the AWS CLI --------------------------------------------------------
# The same resources, settings and order as `lab up` (ARCHITECTURE.md §4 and the README), with the names `lab --stack NAME`
# would use. What the script needs between steps (account, ARNs, ids) it takes from the answers.
cli_up() { # name
    local n=$1 acct role_arn fn_arn api root res s pattern
    acct=$(aws sts get-caller-identity --query Account --output text)
    sed -e "s/\${PARTITION}/aws/g" -e "s/\${REGION}/$REGION/g" -e "s/\${ACCOUNT}/$acct/g" \
        -e "s/\${TABLE}/$n-table/g" -e "s|\${LOG_GROUP}|/aws/lambda/$n-fn|g" \
        assets/policy.json >"$WORK/policy-$n.json"
    aws iam create-policy --policy-name "$n-policy" \
        --policy-document "file://$WORK/policy-$n.json" >/dev/null
    role_arn=$(aws iam create-role --role-name "$n-role" \
        --assume-role-policy-document "file://$ROOT/assets/trust-policy.json" --query Role.Arn --output text)
    aws iam attach-role-policy --role-name "$n-role" --policy-arn "arn:aws:iam::$acct:policy/$n-policy"

    aws dynamodb create-table --table-name "$n-table" --billing-mode PAY_PER_REQUEST \
        --attribute-definitions AttributeName=id,AttributeType=S \
        --key-schema AttributeName=id,KeyType=HASH >/dev/null
    aws dynamodb wait table-exists --table-name "$n-table"

    aws logs create-log-group --log-group-name "/aws/lambda/$n-fn"
    aws logs put-retention-policy --log-group-name "/aws/lambda/$n-fn" --retention-in-days 14

    fn_arn=$(aws lambda create-function --function-name "$n-fn" --runtime provided.al2023 \
        --handler bootstrap --role "$role_arn" --zip-file "fileb://$ZIP" --memory-size 128 --timeout 3 \
        --architectures x86_64 --environment "Variables={LAB_ALLOWED_TABLE=$n-table}" \
        --query FunctionArn --output text)
    aws lambda wait function-active-v2 --function-name "$n-fn"

    api=$(aws apigateway create-rest-api --name "$n-api" --endpoint-configuration types=REGIONAL \
        --query id --output text)
    root=$(aws apigateway get-resources --rest-api-id "$api" --query 'items[?path==`/`].id' --output text)
    res=$(aws apigateway create-resource --rest-api-id "$api" --parent-id "$root" \
        --path-part DynamoDBManager --query id --output text)
    aws apigateway put-method --rest-api-id "$api" --resource-id "$res" --http-method POST \
        --authorization-type NONE >/dev/null
    for s in 200 400 403 404 409 500; do
        aws apigateway put-method-response --rest-api-id "$api" --resource-id "$res" --http-method POST \
            --status-code "$s" >/dev/null
    done
    aws apigateway put-integration --rest-api-id "$api" --resource-id "$res" --http-method POST \
        --type AWS --integration-http-method POST \
        --uri "arn:aws:apigateway:$REGION:lambda:path/2015-03-31/functions/$fn_arn/invocations" >/dev/null
    # The default (200) response has no pattern; each error type maps to its status by the prefix the
    # handler puts on errorMessage (the same patterns as lab's src/stack/api.rs).
    aws apigateway put-integration-response --rest-api-id "$api" --resource-id "$res" \
        --http-method POST --status-code 200 >/dev/null
    for s in 400:'BadRequest:.*' 403:'Forbidden:.*' 404:'NotFound:.*' 409:'Conflict:.*' \
        500:'(Internal:|.*Task timed out|RequestId:|.*Runtime exited)[\s\S]*'; do
        pattern=${s#*:}
        aws apigateway put-integration-response --rest-api-id "$api" --resource-id "$res" \
            --http-method POST --status-code "${s%%:*}" --selection-pattern "$pattern" >/dev/null
    done
    aws lambda add-permission --function-name "$n-fn" --statement-id lab-apigateway-invoke \
        --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
        --source-arn "arn:aws:execute-api:$REGION:$acct:$api/*/POST/DynamoDBManager" >/dev/null
    aws apigateway create-deployment --rest-api-id "$api" --stage-name prod >/dev/null
    echo "$ENDPOINT/restapis/$api/prod/_user_request_/DynamoDBManager"
}

# The teardown in reverse. Like `lab down` it stands alone (run later, from another shell), so it looks
# up what it needs: the account (for the policy ARN) and the API's id by name. Two calls of its total.
cli_down() { # name
    local n=$1 acct api
    acct=$(aws sts get-caller-identity --query Account --output text)
    api=$(aws apigateway get-rest-apis --query "items[?name=='$n-api'].id" --output text)
    aws lambda remove-permission --function-name "$n-fn" --statement-id lab-apigateway-invoke >/dev/null
    aws apigateway delete-rest-api --rest-api-id "$api" >/dev/null
    aws lambda delete-function --function-name "$n-fn" >/dev/null
    aws logs delete-log-group --log-group-name "/aws/lambda/$n-fn" >/dev/null
    aws dynamodb delete-table --table-name "$n-table" >/dev/null
    aws dynamodb wait table-not-exists --table-name "$n-table"
    aws iam detach-role-policy --role-name "$n-role" --policy-arn "arn:aws:iam::$acct:policy/$n-policy"
    aws iam delete-role --role-name "$n-role"
    aws iam delete-policy --policy-arn "arn:aws:iam::$acct:policy/$n-policy"
}

# Untimed check that a stack answers through its stage URL: proves both sides built a working API.
ping_stage() { # url
    curl -sS -X POST -d "$PING" -o "$WORK/ping" -w '%{http_code}' "$1"
    printf ' %s' "$(head -c 40 "$WORK/ping")"
}

# --- warm-up (untimed) -----------------------------------------------------------------------------------
# moto loads each service's backend on its first call (up to 0.5 s each), and the first `aws` run reads
# botocore's models from a cold page cache: neither belongs to either side, so one untimed round pays it.
say "warm-up: one untimed lab up/down and one aws call"
lab --stack warm up --zip "$ZIP" >/dev/null 2>&1
lab --stack warm down --yes >/dev/null 2>&1
aws sts get-caller-identity >/dev/null
: >"$WORK/aws-calls"

# One AWS CLI call on its own: the fixed cost each step pays (Python start-up, botocore models).
for i in 1 2 3; do timed "$WORK/t-aws-one" "$AWS_BIN" --endpoint-url "$ENDPOINT" sts get-caller-identity >/dev/null; done

# --- the rounds, alternating ------------------------------------------------------------------------------
LOADAVG=$(loadavg)
for i in $(seq 1 "$RUNS"); do
    say "round $i/$RUNS: lab"
    timed "$WORK/t-lab-up" lab -o json --stack labbench up --zip "$ZIP" >"$WORK/lab-up.json"
    timed "$WORK/t-lab-again" lab --stack labbench up --zip "$ZIP" >/dev/null 2>&1
    if [ "$i" = 1 ]; then
        LAB_PING=$(ping_stage "$(json_field "$WORK/lab-up.json" invoke_url)")
    fi
    timed "$WORK/t-lab-down" lab --stack labbench down --yes >/dev/null 2>&1

    say "round $i/$RUNS: awscli"
    calls0=$(wc -l <"$WORK/aws-calls")
    url=$(timed "$WORK/t-cli-up" cli_up clibench)
    calls1=$(wc -l <"$WORK/aws-calls")
    if [ "$i" = 1 ]; then CLI_PING=$(ping_stage "$url"); fi
    timed "$WORK/t-cli-down" cli_down clibench
    calls2=$(wc -l <"$WORK/aws-calls")
    CLI_UP_CALLS=$((calls1 - calls0)); CLI_DOWN_CALLS=$((calls2 - calls1))
done

# --- figures ----------------------------------------------------------------------------------------------
median() { py "$ROOT/scripts/bench_lib.py" median "$1"; }
all() { paste -sd' ' "$1"; }
ratio() { awk -v c="$1" -v l="$2" 'BEGIN { printf "%.1fx", c / l }'; }
LU=$(median "$WORK/t-lab-up"); LD=$(median "$WORK/t-lab-down"); LA=$(median "$WORK/t-lab-again")
CU=$(median "$WORK/t-cli-up"); CD=$(median "$WORK/t-cli-down")
LT=$(awk -v a="$LU" -v b="$LD" 'BEGIN { printf "%.3f", a + b }')
CT=$(awk -v a="$CU" -v b="$CD" 'BEGIN { printf "%.3f", a + b }')

echo
echo "## lab up/down vs the same steps with the AWS CLI (moto $(moto_version) behind lab local serve, 127.0.0.1)"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before the rounds $LOADAVG, after $(loadavg)"
echo "lab: $LAB_BIN ($("$LAB_BIN" --version)); awscli: $("$AWS_BIN" --version 2>&1 | cut -d' ' -f1,2)"
echo "handler build: $HANDLER_BUILD"
echo "deployed zip: $(stat -c %s "$ZIP") bytes, the same file for both sides (build time excluded below)"
echo "rounds: $RUNS, alternating lab then awscli, after one untimed warm-up round; wall times in seconds"
echo
printf '%-28s%10s%10s%12s   %s\n' "" "lab" "awscli" "awscli/lab" "each run (lab | awscli)"
printf '%-28s%10s%10s%12s   %s | %s\n' "up from nothing (median)" "$LU" "$CU" "$(ratio "$CU" "$LU")" "$(all "$WORK/t-lab-up")" "$(all "$WORK/t-cli-up")"
printf '%-28s%10s%10s%12s   %s | %s\n' "down (median)" "$LD" "$CD" "$(ratio "$CD" "$LD")" "$(all "$WORK/t-lab-down")" "$(all "$WORK/t-cli-down")"
printf '%-28s%10s%10s%12s\n' "up + down" "$LT" "$CT" "$(ratio "$CT" "$LT")"
printf '%-28s%10s%10s%12s   %s\n' "lab up again, no changes" "$LA" "-" "-" "$(all "$WORK/t-lab-again")"
echo
echo "awscli script: $CLI_UP_CALLS calls for up, $CLI_DOWN_CALLS for down (each a new aws process);"
echo "  one aws call alone (sts get-caller-identity): median $(median "$WORK/t-aws-one") s"
echo "stage URL ping after up (untimed): lab -> $LAB_PING; awscli -> $CLI_PING"

# --- on record -------------------------------------------------------------------------------------------
py "$ROOT/scripts/bench_up.py" "$WORK" "$RUNS" "$CLI_UP_CALLS" "$CLI_DOWN_CALLS" "$("$AWS_BIN" --version 2>&1 | cut -d' ' -f1)" \
    "$(stat -c %s "$ZIP")" "$LOADAVG" "$LAB_BIN" "$BOOTSTRAP" >"$WORK/record.json"
record_bench up <"$WORK/record.json"
