#!/usr/bin/env bash
# Writes a small data directory with the CLI: every kind of event the ledger stores.
set -euo pipefail
D=${1:?data dir}
export LEDGER_DATA_DIR="$D"
ledger init >/dev/null
ledger staff add --id admin --name "Ada Admin" --role admin >/dev/null
ledger staff add --id dr-lee --name "Dr Min Lee" --role clinician --as admin >/dev/null
ledger staff add --id sup --name "Sue Pervisor" --role clinician --as admin >/dev/null
ledger staff set-role sup --role supervisor --as admin >/dev/null
ledger staff add --id bill --name "Bo Biller" --role billing --as admin >/dev/null
ledger staff add --id desk --name "Dee Desk" --role front-desk --as admin >/dev/null
ledger staff add --id comp --name "Cy Compliance" --role compliance --as admin >/dev/null
ledger staff add --id gone --name "Gone Person" --role clinician --as admin >/dev/null
ledger staff deactivate gone --as admin >/dev/null
ledger client add --id C-1 --name "Jane Roe" --dob 1988-02-14 --state CA --as desk >/dev/null
ledger client add --id C-2 --name "Sam Poe" --dob 1970-09-30 --state NY --as desk >/dev/null
NOTE=$(printf 'Fixture progress note one.\n' | ledger note write --client C-1 --as dr-lee --session-date 2026-11-02)
printf 'Fixture progress note one, amended.\n' | ledger note amend "$NOTE" --as dr-lee --reason "fixture amendment" >/dev/null

ledger note show "$NOTE" --as dr-lee --purpose TREAT >/dev/null
ledger note show "$NOTE" --as bill --purpose TREAT >/dev/null 2>&1 || true
ledger note show "$NOTE" --as desk --purpose TREAT --break-glass --reason "fixture emergency" >/dev/null
ledger note list --client C-1 --as dr-lee >/dev/null
PN=$(printf 'Fixture psychotherapy note.\n' | ledger pn write --client C-1 --as dr-lee)
printf 'Fixture psychotherapy note, amended.\n' | ledger pn amend "$PN" --as dr-lee --reason "more" >/dev/null
ledger pn show "$PN" --as dr-lee --purpose TREAT >/dev/null
ledger pn show "$PN" --as sup --purpose TRAIN --exception SUPERVISED_TRAINING >/dev/null
ledger pn show "$PN" --as bill --purpose HPAYMT >/dev/null 2>&1 || true
AUTH=$(ledger authorize grant --client C-1 --as comp --scope psychotherapy-notes --recipient "Dr. Ray Park" \
    --recipient-type provider --purpose "continuity of care" --expires 2099-12-31 --signed-by "Jane Roe" | cut -f1)
MAUTH=$(ledger authorize grant --client C-1 --as desk --scope progress-notes --recipient "Law Office" \
    --purpose "at the request of the individual" --expiry-event "end of litigation" --signed-by "Jane Roe" | cut -f1)
ledger authorize expire "$MAUTH" --as comp --occurred "$(date -u +%F)" >/dev/null
ledger disclose --client C-1 --as comp --to "Dr. Ray Park" --recipient-type provider --purpose TREAT \
    --pn "$PN" --authorization "$AUTH" --out "$D/release.json" >/dev/null
rm "$D/release.json"
ledger disclose --client C-1 --as bill --to "Acme Health Plan" --recipient-type payer --purpose HPAYMT \
    --note "$NOTE" >/dev/null
ledger disclose --client C-1 --as comp --to "County Coroner" --recipient-type coroner --purpose PUBHLTH \
    --note "$NOTE" --exception CORONER_512g1 --recipient-address "1 Main St" >/dev/null
ledger authorize revoke "$AUTH" --as comp --received "$(date -u +%F)" >/dev/null
ledger client episode open C-1 --as desk --license lmft --start 2026-01-05 >/dev/null
ledger client contact C-1 --as desk --on 2026-02-01 >/dev/null
ledger client episode open C-2 --as desk --license psychologist --start 2000-01-03 >/dev/null
ledger client episode close C-2 --as desk --end 2001-06-30 --kind termination >/dev/null
HOLD=$(ledger hold place --client C-1 --as comp --reason "fixture hold" --json | python -c 'import json,sys; print(json.load(sys.stdin)["hold_id"])')
ledger hold release "$HOLD" --as comp --reason "fixture release" >/dev/null
ledger retention precondition C-1 --as comp --rule MA-c123-facility --kind notify-agency --on 2026-02-02 --note "fixture letter" >/dev/null 2>&1 || true
ledger record-set C-1 --as comp >/dev/null
ledger accounting C-1 --as comp >/dev/null
ledger access-log --as comp >/dev/null
ledger retention plan --as comp >/dev/null
ledger retention run --as comp >/dev/null
ledger checkpoint >/dev/null
ledger verify
echo "NOTE=$NOTE"
echo "PN=$PN"
echo "AUTH=$AUTH"
echo "MAUTH=$MAUTH"
echo "HOLD=$HOLD"
