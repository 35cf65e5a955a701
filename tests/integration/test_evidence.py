"""Integrity evidence for a named person (the HTTP service's verify, checkpoint, proofs and
bundles): the roles table decides, a refusal is recorded and raised, a granted use is
recorded, and the work is the same as the key holder's local commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.errors import Refused
from ledger.rules import roles
from tests.conftest import AT, audit_entries, seed


def entries(lg: Ledger, actor: str, object_type: str) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in audit_entries(lg)  # type: ignore[attr-defined]
            if e.actor_id == actor and e.object_type == object_type]


def test_the_evidence_rule_is_in_the_roles_table() -> None:
    assert roles.HANDLE_EVIDENCE in roles.TABLE
    assert sorted(roles.HANDLE_EVIDENCE.roles) == ["admin", "compliance", "supervisor"]


@pytest.mark.parametrize("who", ["dr-lee", "bill", "desk"])
def test_a_role_without_the_right_is_refused_and_recorded(lg: Ledger, who: str,
                                                          tmp_path: Path) -> None:
    seed(lg)
    with pytest.raises(Refused, match=r"may not verify the stores \(the attempt was "):
        lg.evidence.verify(by=who, at=AT)
    with pytest.raises(Refused, match="may not sign checkpoints"):
        lg.evidence.checkpoint(by=who, at=AT)
    with pytest.raises(Refused, match="may not hand out proofs"):
        lg.evidence.inclusion(1, by=who, at=AT)
    with pytest.raises(Refused, match="may not export evidence bundles"):
        lg.evidence.export_bundle(tmp_path / "b", by=who, at=AT, client_ref="C-1")
    assert not (tmp_path / "b").exists()
    assert entries(lg, who, "integrity") == [("access", "denied")]
    assert entries(lg, who, "checkpoint") == [("originate", "denied")]
    assert entries(lg, who, "proof") == [("access", "denied")]
    assert entries(lg, who, "evidence-bundle") == [("export", "denied")]
    assert list((lg.settings.checkpoints).glob("*/*.note")) == []


def test_a_granted_use_does_the_work_and_is_recorded(lg: Ledger, tmp_path: Path) -> None:
    seed(lg)
    assert all(r.ok for r in lg.evidence.verify(by="comp", at=AT))
    written = lg.evidence.checkpoint(by="admin", at=AT)
    assert [c.origin.rsplit("/", 1)[1] for c, _ in written] == ["main", "psychotherapy"]
    proof = lg.evidence.inclusion(2, by="sup", at=AT)
    assert proof.verified and proof.size == written[0][0].size
    counts = lg.evidence.export_bundle(tmp_path / "b", by="comp", at=AT, client_ref="C-1")
    assert (tmp_path / "b").is_dir() and counts[0][1] > 0
    assert entries(lg, "comp", "integrity") == [("access", "granted")]
    assert entries(lg, "admin", "checkpoint") == [("originate", "granted")]
    assert entries(lg, "sup", "proof") == [("access", "granted")]
    bundle = [e for e in audit_entries(lg)
              if e.object_type == "evidence-bundle"]  # type: ignore[attr-defined]
    assert [(e.outcome, e.client_id) for e in bundle] == [  # type: ignore[attr-defined]
        ("granted", lg.client_id("C-1"))]
