"""``ledger staff token issue|revoke|list`` (issue 13)."""

from __future__ import annotations

import json

from tests.cli.test_cli import setup_practice
from tests.cli.test_cli_sealed import ok


def test_issue_list_revoke(run) -> None:  # type: ignore[no-untyped-def]
    setup_practice(run)
    issued = run("staff", "token", "issue", "dr-lee", "--as", "admin", "--expires",
                 "2099-01-01", "--label", "workstation 3")
    assert issued.exit_code == 0
    token = issued.stdout.strip()
    assert token.startswith("lgst_") and len(token) == 48
    assert "shown once" in issued.stderr
    listed = json.loads(ok(run("staff", "token", "list", "--as", "admin", "--json")))
    assert [(t["staff_id"], t["state"], t["label"]) for t in listed] == [
        ("dr-lee", "active", "workstation 3")]
    assert token not in json.dumps(listed)
    ok(run("staff", "token", "revoke", listed[0]["token_id"], "--as", "admin"))
    again = json.loads(ok(run("staff", "token", "list", "--as", "admin", "--json")))
    assert again[0]["state"] == "revoked"
    refused = run("staff", "token", "issue", "dr-lee", "--as", "dr-lee")
    assert refused.exit_code == 4 and refused.stderr == (
        "error: refused: role clinician may not manage staff (the attempt was recorded)\n")
