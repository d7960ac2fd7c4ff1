#!/usr/bin/env bash
# A guided tour against a running `tollgate demo`: the platform's checkout
# flow (spec §8 flow 1), then the tenant's view of it.
#
#   cargo run --release -- demo > /tmp/demo.txt &      # wait for it to listen
#   examples/walkthrough.sh /tmp/demo.txt
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${1:?usage: walkthrough.sh FILE_WITH_THE_DEMO_OUTPUT}
first=$(head -n1 "$DEMO")
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$first" "$1"; }
URL="http://$(get listen)"
APP=$(get application_id)
KEY=$(python3 -c "import base64,sys; print(base64.b64encode(sys.argv[1].encode()).decode())" "$(get api_key)")
TOKEN=$(get admin_token)
platform() { # path body-file-or-json
  local body=$2
  [ -f "$body" ] && body=$(cat "$body")
  curl -s "$URL$1" -H "X-CloudPlatform-ApplicationId: $APP" -H "X-CloudPlatform-APIKey: $KEY" \
    -H 'X-CloudPlatform-Setting-FieldUsername: partner-ops' -H 'X-CloudPlatform-Setting-FieldPassword: S3cret-2025' \
    -H 'X-CloudPlatform-Setting-FieldUri: https://api.vendor.example' -H 'X-CloudPlatform-Setting-FieldRegion: 1' \
    -H 'Content-Type: application/json' -d "$body"
  echo
}
with() { # set keys of the sample create request: with '{"Quantity": 5, "CheckOnly": false}'
  python3 -c "import json,sys; b=json.load(open('examples/requests/subscription-create-check.json')); b.update(json.loads(sys.argv[1])); print(json.dumps(b))" "$1"
}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Accounts/Synchronize: the customer gets its external id"
platform /api/Accounts/Synchronize examples/requests/account.json
step "Subscriptions/Create in check mode, quantity 2: below the tenant's minimum (min-max plugin)"
platform /api/Subscriptions/Create "$(with '{"Quantity": 2}')"
step "Check mode, quantity 5: accepted, nothing created"
platform /api/Subscriptions/Create "$(with '{"Quantity": 5}')"
step "Real mode: provisioned (20 GB × 5 seats)"
RESULT=$(platform /api/Subscriptions/Create "$(with '{"Quantity": 5, "CheckOnly": false}')")
echo "$RESULT"
SUB=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['Result'])" "$RESULT")
step "A second cloudbackup subscription for the same customer: one-active-subscription says no"
platform /api/Subscriptions/Create "$(with '{"Quantity": 5, "SubscriptionID": "another", "CheckOnly": true}')"
step "Addons/Create: 3 Vault Packs (40 GB each, immutable backups)"
platform /api/Addons/Create "$(with "{\"ID\": \"$SUB\", \"Quantity\": 5, \"CheckOnly\": false, \"ActionType\": \"None\", \"Addons\": [{\"ProductID\": \"cb_vault_pack\", \"Name\": \"Vault Pack\", \"ActionType\": \"Provision\", \"Quantity\": 3, \"AttributeList\": {\"storage_gb\": {\"Value\": \"40\", \"QuantityLinked\": true}, \"immutable_backup\": {\"Value\": \"1\"}}}]}")"
step "The tenant's view: the subscription with its resource plan (100 + 120 = 220 GB)"
curl -s "$URL/admin/v1/subscriptions/$SUB" -H "Authorization: Bearer $TOKEN" \
  | python3 -c "import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ('external_id', 'status', 'quantity', 'addons', 'resources')}, indent=2))"
step "The provisioning event feed"
curl -s "$URL/admin/v1/events?after=0" -H "Authorization: Bearer $TOKEN" | python3 -c "import json,sys; [print(e['cursor'], e['kind'], e['subscription_id'] or e['account_id']) for e in json.load(sys.stdin)['events']]"
step "The decision log: the min-max rejection, with its fixture"
curl -s "$URL/admin/v1/invocations?binding=min-max&limit=50" -H "Authorization: Bearer $TOKEN" \
  | python3 -c "import json,sys; l=[i for i in json.load(sys.stdin) if i['output'] and i['output'].get('limits')]; print(json.dumps(l[-1]['fixture'], indent=2))"
