#!/usr/bin/env bash
# A scripted session on the embedded default (SQLite files in ./demo-data).
set -euo pipefail

DATA=demo-data  # ignored by git; the tampered copy goes to a temporary directory
rm -rf "$DATA"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
TAMPERED="$SCRATCH/demo-data-tampered"
export LEDGER_DATA_DIR="$DATA"
step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
expect_exit() {  # expect_exit CODE command...: show the command, check its exit status
    local want=$1; shift
    printf '$ %s\n' "$*"
    set +e; "$@"; local got=$?; set -e
    if [ "$got" != "$want" ]; then echo "demo: expected exit $want, got $got" >&2; exit 1; fi
    echo "(exit $got, as expected)"
}

step "Create the stores and key-encryption keys (0600 files outside the databases)"
run ledger init
run ls -l "$DATA/keys"

step "Staff: the first admin bootstraps; privilege changes are events"
run ledger staff add --id admin --name "Ada Admin" --role admin
run ledger staff add --id dr-lee --name "Dr Min Lee" --role clinician --as admin
run ledger staff add --id dr-kim --name "Dr Jo Kim" --role clinician --as admin
run ledger staff add --id billing --name "Bo Biller" --role billing --as admin
run ledger staff add --id desk --name "Dee Desk" --role front-desk --as admin
run ledger staff add --id comp --name "Cy Compliance" --role compliance --as admin
run ledger staff set-role dr-kim --role supervisor --as admin
run ledger staff list

step "Clients: identity is sealed under each client's own data key"
run ledger client add --id C-1001 --name "Jane Roe" --dob 1988-02-14 --state CA --as desk
run ledger client add --id C-1002 --name "Sam Poe" --dob 2011-09-30 --state NY --as desk

step "Progress notes: written, amended (the old version stays), read, listed"
printf 'Client reports improved sleep. PHQ-9 down from 14 to 9. Continue CBT weekly.\n' > "$DATA/note1.txt"
NOTE=$(ledger note write --client C-1001 --as dr-lee --session-date 2026-11-02 --file "$DATA/note1.txt")
echo "$ ledger note write --client C-1001 --as dr-lee --session-date 2026-11-02 --file note1.txt"
echo "$NOTE"
rm "$DATA/note1.txt"
printf 'Parent reports fewer school refusals. Plan: graded exposure.\n' | ledger note write --client C-1002 --as dr-kim >/dev/null
printf 'Client reports improved sleep. PHQ-9 down from 14 to 10 (rescored). Continue CBT weekly.\n' \
    | run ledger note amend "$NOTE" --as dr-lee --reason "PHQ-9 total mis-added"
run ledger note show "$NOTE" --as dr-lee --purpose TREAT
run ledger note show "$NOTE" --as dr-lee --purpose TREAT --version 1
run ledger note show "$NOTE" --as billing --purpose HPAYMT --json
run ledger note list --client C-1001 --as dr-kim

step "Refusals are recorded too, and exit 4"
expect_exit 4 ledger note show "$NOTE" --as billing --purpose TREAT
expect_exit 4 ledger note show "$NOTE" --as desk --purpose TREAT
expect_exit 4 ledger note show "$NOTE" --as stranger --purpose TREAT
expect_exit 1 ledger note show "$NOTE" --as dr-lee --purpose NOTACODE

step "Break-the-glass: granted, flagged, listed"
run ledger note show "$NOTE" --as desk --purpose TREAT --break-glass --reason "client in crisis at the front desk"
run ledger access-log --as comp --break-glass

step "Psychotherapy notes live in the sealed store; only the originator reads them for treatment"
PN=$(printf 'Explored grief about her father; transference noted.\n' | ledger pn write --client C-1001 --as dr-lee)
echo "$ ledger pn write --client C-1001 --as dr-lee   (text on stdin)"
echo "$PN"
run ledger pn show "$PN" --as dr-lee --purpose TREAT
expect_exit 4 ledger pn show "$PN" --as dr-kim --purpose TREAT
run ledger pn show "$PN" --as dr-kim --purpose TRAIN --exception SUPERVISED_TRAINING
expect_exit 4 ledger pn show "$PN" --as dr-lee --purpose TREAT --break-glass --reason "emergency"

step "Authorizations: a psychotherapy-note authorization may not be compound"
expect_exit 4 ledger authorize grant --client C-1001 --as comp --scope psychotherapy-notes,progress-notes \
    --recipient "Dr. Ray Park" --purpose "continuity of care" --expires 2099-12-31 --signed-by "Jane Roe"
AUTH=$(ledger authorize grant --client C-1001 --as comp --scope psychotherapy-notes \
    --recipient "Dr. Ray Park" --recipient-type provider --purpose "continuity of care" --expires 2099-12-31 --signed-by "Jane Roe" | cut -f1)
echo "$ ledger authorize grant --client C-1001 --as comp --scope psychotherapy-notes --recipient \"Dr. Ray Park\" ..."
echo "$AUTH"
run ledger authorize list --client C-1001 --as comp

step "Disclosures: one guard; a payer never receives a psychotherapy note"
expect_exit 4 ledger disclose --client C-1001 --as comp --to "Acme Health Plan" --recipient-type payer \
    --purpose HPAYMT --pn "$PN" --authorization "$AUTH" --out "$DATA/payer.json"
run ledger disclose --client C-1001 --as comp --to "Dr. Ray Park" --recipient-type provider \
    --purpose TREAT --pn "$PN" --authorization "$AUTH" --out "$DATA/release.json"
rm "$DATA/release.json"
run ledger disclose --client C-1001 --as billing --to "Acme Health Plan" --recipient-type payer \
    --purpose HPAYMT --note "$NOTE" --recipient-address "PO Box 1, Springfield"
run ledger access-log --as comp --store pn
if grep -a -l -e "grief" -e "sychotherapy" "$DATA"/main.sqlite* 2>/dev/null; then
    echo "demo: psychotherapy-note data found in the main store" >&2; exit 1
fi
echo "nothing of the psychotherapy note in any main-store file"
step "Compliance reports: the record set through time, the accounting, the projections"
run ledger record-set C-1001 --as comp
run ledger record-set C-1001 --as comp --as-of 2000-01-01
run ledger disclose --client C-1001 --as comp --to "County Coroner" --recipient-type coroner \
    --purpose PUBHLTH --note "$NOTE" --exception CORONER_512g1 --recipient-address "1 Main St" \
    --assertion "medical examiner's written request 26-114"
run ledger accounting C-1001 --as comp
run ledger export access-request C-1001 --as comp --out "$DATA/request-C-1001"
run ls -l "$DATA/request-C-1001"
run ledger access-log --as comp --client C-1001 --outcome denied
run ledger access-log --as comp --client C-1001 --outcome denied --from-log
run ledger projections status
run ledger projections check

step "Retention: state rules as data, episodes of care, legal holds"
run ledger client episode open C-1002 --as desk --license psychologist --start 2024-01-08
run ledger client episode close C-1002 --as desk --end 2025-05-30 --kind termination
run ledger retention explain C-1002 --as comp
# Seen in Washington as a child, later in Pennsylvania: each episode carries its state, and
# the longer rule wins (WA keeps the record until 22; PA alone would say due since 2023).
run ledger client add --id C-1003 --name "Ann Lee" --dob 2005-03-03 --state PA --as desk
run ledger client episode open C-1003 --as desk --license psychologist --start 2014-01-06 --state WA
run ledger client episode close C-1003 --as desk --end 2016-08-31 --kind termination
run ledger client episode open C-1003 --as desk --license psychologist --start 2017-01-09
run ledger client episode close C-1003 --as desk --end 2018-07-01 --kind termination
run ledger retention explain C-1003 --as comp --at 2026-11-30
# A practice's history from its earlier system (docs/import.md): checked whole, then
# written; each note keeps the day it was written there, which the rules use.
run ledger import tests/data/history-2015.jsonl --as admin --dry-run
run ledger import tests/data/history-2015.jsonl --as admin
run ledger import tests/data/history-2015.jsonl --as admin
run ledger retention explain H-2015 --as comp
HOLD=$(ledger hold place --client C-1002 --as comp --reason "records requested in a custody matter" --json \
    | python -c 'import json, sys; print(json.load(sys.stdin)["hold_id"])')
echo "$ ledger hold place --client C-1002 --as comp --reason \"records requested in a custody matter\""
run ledger retention plan --as comp --at 2045-01-01
run ledger hold release "$HOLD" --as comp --reason "matter closed"
run ledger retention plan --as comp --at 2045-01-01
run ledger retention run --as comp --dry-run --at 2045-01-01
run ledger retention run --as comp

step "Proofs an outsider can check: signed checkpoints, a bundle, the investigator's report"
run ledger checkpoint
run ledger proof inclusion 3
run ledger export bundle --out "$DATA/evidence" --store pn
run ledger verify-bundle "$DATA/evidence" --public-key "$DATA/keys/checkpoint.pub"
run ledger investigate psychotherapy-releases --as comp

run ledger staff deactivate dr-lee --as admin
expect_exit 4 ledger note show "$NOTE" --as dr-lee --purpose TREAT

step "The compliance console: sign in with a staff token; the access log as a page (no client in any URL)"
CONSOLE_TOKEN=$(ledger staff token issue comp --as admin --label "demo console" 2>/dev/null)
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '$ ledger serve --port %s &\n' "$PORT"
ledger serve --port "$PORT" >"$SCRATCH/serve.log" 2>&1 &
SERVER=$!
CONSOLE_TOKEN="$CONSOLE_TOKEN" python - "http://127.0.0.1:$PORT" <<'PY'
import os, re, sys, time
import httpx
base = sys.argv[1]
with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as web:
    for _ in range(100):  # until the server listens
        try:
            form = web.get("/console/sign-in")
            break
        except httpx.TransportError:
            time.sleep(0.2)
    token = lambda page: re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    title = lambda page: re.search(r"<title>(.*?)</title>", page).group(1)
    caption = lambda page: re.sub(r"\s+", " ", re.search(r"<caption>(.*?)</caption>", page, re.S).group(1))
    signed = web.post("/console/sign-in", data={"token": os.environ["CONSOLE_TOKEN"], "csrf": token(form.text)})
    print(f"POST /console/sign-in -> {signed.status_code}, {title(signed.text)}")
    page = web.get("/console/access-log")
    print(f"GET /console/access-log -> {page.status_code}: {caption(page.text)}")
    refused = web.post("/console/access-log", data={"csrf": token(page.text), "outcome": "denied", "client": "C-1001"})
    print(f"POST /console/access-log (client C-1001, refusals; the client is in the body) -> {refused.status_code}: {caption(refused.text)}")
    out = web.post("/console/sign-out", data={"csrf": token(page.text)})
    print(f"POST /console/sign-out -> {title(out.text)}")
    again = web.get("/console/access-log", follow_redirects=False)
    print(f"GET /console/access-log after signing out -> {again.status_code} to {again.headers['location']}")
PY
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
run ledger access-log --as comp --staff comp --from 2000-01-01 | tail -n 4

step "Nothing identifying is stored in plaintext"
if grep -a -l -e "Jane Roe" -e "PHQ-9" -e "grief" "$DATA"/*.sqlite* 2>/dev/null; then
    echo "demo: plaintext found at rest" >&2; exit 1
fi
echo "no client name or note text in any database file"

step "Verify both chains: intact"
run ledger verify

step "Backups and key-encryption key versions: a restore keeps every destruction and says what it lost"
run ledger backup --out "$SCRATCH/backup"
run ledger keys rotate
run ledger keys status
run ledger restore "$SCRATCH/backup" --force
run ledger keys status
run ledger verify

step "Tamper with one event in a scratch copy, then verify it"
cp -r "$DATA" "$TAMPERED"
python - "$TAMPERED/main.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT id, state FROM ledger_events ORDER BY id LIMIT 1 OFFSET 11").fetchone()
state = bytearray(row[1]); state[-1] ^= 0x01
db.execute("UPDATE ledger_events SET state = ? WHERE id = ?", (bytes(state), row[0]))
db.commit()
print(f"flipped one bit of the stored state of notification id {row[0]}")
PY
expect_exit 3 ledger --data-dir "$TAMPERED" verify

step "In another copy, delete a row of the psychotherapy store's access history"
rm -rf "$TAMPERED"
cp -r "$DATA" "$TAMPERED"
python - "$TAMPERED/psychotherapy.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM psychotherapy_access WHERE position = (SELECT min(position) FROM psychotherapy_access)")
db.commit()
print("deleted the first row of the psychotherapy_access read model")
PY
expect_exit 3 ledger --data-dir "$TAMPERED" projections check
expect_exit 3 ledger --data-dir "$TAMPERED" investigate psychotherapy-releases --as comp
step "The original is untouched"
run ledger verify
