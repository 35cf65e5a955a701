"""Retention facts, schedules and holds from the command line."""

from __future__ import annotations

import json

from tests.cli.test_cli_sealed import ok, practice
from tests.conftest import PN_ASSERTION


def test_episode_explain_plan_and_holds(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    ok(run("client", "episode", "open", "C-1", "--as", "desk", "--license", "psychologist",
           "--start", "2020-01-05"))
    r = run("client", "episode", "open", "C-1", "--as", "desk", "--license", "psychologist",
            "--start", "2020-01-05")
    assert r.exit_code == 1
    assert r.stderr == "error: an episode of care is already open; close it first\n"
    # The practice's note documents a session on 2026-01-02, within the episode.
    ok(run("client", "episode", "close", "C-1", "--as", "desk", "--end", "2026-01-05",
           "--kind", "discharge"))
    ok(run("client", "contact", "C-1", "--as", "desk", "--on", "2026-01-06"))
    text = ok(run("retention", "explain", "C-1", "--as", "comp"))
    assert "CA-psychologist <- longest: Cal. Bus. & Prof. Code §2919" in text
    assert "discharge 2026-01-05 + 7 years = 2033-01-05" in text
    assert "Destruction date: 2033-01-05" in text
    later = json.loads(ok(run("retention", "explain", "C-1", "--as", "comp", "--at",
                              "2034-01-01", "--json")))
    assert (later["client"], later["status"], later["winner"], later["destroy_on"]) == (
        "C-1", "due", "CA-psychologist", "2033-01-05")
    hold = json.loads(ok(run("hold", "place", "--client", "C-1", "--as", "comp", "--reason",
                             "subpoena expected", "--json")))
    plan = ok(run("retention", "plan", "--as", "comp", "--at", "2034-01-01"))
    assert "\tC-1\theld\tlegal hold: subpoena expected" in plan
    dry = ok(run("retention", "run", "--as", "comp", "--dry-run", "--at", "2034-01-01"))
    assert "\tC-1\theld\tlegal hold: subpoena expected" in dry
    assert dry.endswith("0 client(s) would destroy; 1 held\n")
    ok(run("hold", "release", hold["hold_id"], "--as", "comp", "--reason", "withdrawn"))
    plan = json.loads(ok(run("retention", "plan", "--as", "comp", "--at", "2034-01-01",
                             "--json")))
    assert [(p["client"], p["status"]) for p in plan] == [("C-1", "due")]
    assert json.loads(ok(run("retention", "plan", "--as", "comp", "--at", "2034-01-01",
                             "--json", "--from-log"))) == plan
    listed = ok(run("hold", "list", "--as", "comp"))
    assert "released" in listed and "(withdrawn)" in listed
    # Reading the holds is itself recorded, and refused to those who do not manage them.
    r = run("hold", "list", "--as", "bill")
    assert r.exit_code == 4
    assert r.stderr == ("error: refused: role billing may not manage retention or legal "
                        "holds (the attempt was recorded)\n")
    log = json.loads(ok(run("access-log", "--as", "comp", "--store", "main", "--json")))
    reads = [(e["actor_id"], e["outcome"]) for e in log
             if e["action"] == "list" and e["object_type"] == "hold"]
    assert reads == [("comp", "granted"), ("bill", "denied")]
    refused = run("retention", "plan", "--as", "bill")
    assert refused.exit_code == 4
    assert refused.stderr == ("error: refused: role billing may not manage retention or legal "
                              "holds (the attempt was recorded)\n")
    both = run("hold", "place", "--client", "C-1", "--clients", "C-1", "--as", "comp",
               "--reason", "r")
    assert both.exit_code == 1
    assert both.stderr == "error: give --client ID, or --matter NAME with --clients ID,...\n"


def test_retention_run(run) -> None:  # type: ignore[no-untyped-def]
    practice(run)  # C-1 has no episode of care: no date
    # C-2's notes give no session date: they run from the day they were entered, within
    # the episode begun in 2001, and the rule runs from its discharge.
    ok(run("client", "add", "--id", "C-2", "--name", "John Roe", "--dob", "1990-04-01",
           "--state", "ca", "--as", "desk"))
    note_id = ok(run("note", "write", "--client", "C-2", "--as", "dr-lee",
                     input="first version\n")).strip()
    ok(run("pn", "write", "--client", "C-2", "--as", "dr-lee", input="process\n"))
    ok(run("client", "episode", "open", "C-2", "--as", "desk", "--license", "psychologist",
           "--start", "2001-01-05"))
    ok(run("client", "episode", "close", "C-2", "--as", "desk", "--end", "2002-03-01",
           "--kind", "discharge"))
    plan = ok(run("retention", "plan", "--as", "comp"))
    assert "\tC-1\tno date\tno episode of care recorded" in plan
    ahead = run("retention", "run", "--as", "comp", "--at", "2020-01-01")
    assert ahead.exit_code == 1
    assert ahead.stderr == "error: --at is for --dry-run; a purge runs as of now\n"
    dry = ok(run("retention", "run", "--as", "comp", "--dry-run"))
    assert "would destroy" in dry and dry.endswith("1 client(s) would destroy\n")
    assert "first version" in ok(run("note", "show", note_id, "--as", "dr-lee", "--purpose",
                                     "TREAT"))
    kept = ok(run("retention", "explain", "C-2", "--as", "comp", "--at", "2000-01-01"))
    assert kept.endswith("Backups: once destroyed, a copy of the client's keys stays in backups "
                         "until the key-encryption key epoch then current is retired: at most "
                         "35 days (the backup retention) after the rotation that follows the "
                         "purge\n")
    done = ok(run("retention", "run", "--as", "comp"))
    assert done.endswith("1 client(s) destroyed\n")
    # The receipt's line says until when a backup may hold the client's keys.
    assert ("; copies main store: in backups until epoch 1 is retired, at the latest when "
            "epoch 1 is retired (no rotation has followed yet); psychotherapy store: ") in done
    ok(run("keys", "rotate"))
    explained = ok(run("retention", "explain", "C-2", "--as", "comp"))
    assert "copies main store: in backups until epoch 1 is retired, at the latest 20" \
        in explained
    gone = run("note", "show", note_id, "--as", "dr-lee", "--purpose", "TREAT")
    assert gone.exit_code == 1
    assert gone.stderr == (f"error: note {note_id} was destroyed under the retention schedule "
                           "(its content key no longer exists)\n")
    assert "destroyed on " in ok(run("retention", "explain", "C-2", "--as", "comp"))
    assert "The content was destroyed on " in ok(run("record-set", "C-2", "--as", "comp"))
    released = run("disclose", "--client", "C-2", "--as", "comp", "--to", "X",
                   "--recipient-type", "coroner", "--purpose", "PUBHLTH", "--note", note_id,
                   "--exception", "CORONER_512g1", *PN_ASSERTION)
    assert released.exit_code == 1 and released.stderr.startswith(
        f"error: note {note_id} was destroyed under the retention schedule")
    listed = run("note", "list", "--client", "C-2", "--as", "dr-lee")
    assert listed.exit_code == 1 and "was destroyed" in listed.stderr
    for args in (("pn", "list", "--client", "C-2", "--as", "dr-lee"),
                 ("authorize", "list", "--client", "C-2", "--as", "comp")):
        r = run(*args)
        assert r.exit_code == 1 and " were destroyed on " in r.stderr, args
        assert "under rule CA-psychologist" in r.stderr
    again = run("client", "add", "--id", "C-2", "--name", "Jane Roe", "--dob", "1990-04-01",
                "--state", "ca", "--as", "desk")  # a purged client is not registered anew
    assert again.exit_code == 1
    assert again.stderr == ("error: client was destroyed under the retention schedule (its "
                            "content key no longer exists)\n")
    assert ok(run("retention", "run", "--as", "comp")).endswith("0 client(s) destroyed\n")
    assert ok(run("verify")).count("intact") == 3


def test_jobs_run_refuses_and_records_a_purger_the_roles_table_does_not_allow(
        run) -> None:  # type: ignore[no-untyped-def]
    practice(run)
    refused = run("jobs", "run", "--as", "dr-lee")
    assert refused.exit_code == 4
    assert refused.stderr == ("error: refused: role clinician may not manage retention or "
                              "legal holds (the attempt was recorded)\n")
    log = json.loads(ok(run("access-log", "--as", "comp", "--staff", "dr-lee", "--outcome",
                            "denied", "--json")))
    assert [(e["action"], e["object_type"]) for e in log] == [("destroy", "retention")]
