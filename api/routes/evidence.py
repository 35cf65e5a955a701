"""``/v1/verify``, ``/v1/checkpoints``, ``/v1/proofs`` and ``/v1/evidence-bundles``:
integrity evidence (``ledger verify``, ``checkpoint``, ``proof``, ``export bundle``).

Locally these are the key holder's commands; over the API each is an audited use for the
caller, decided by the roles table (``integrity.evidence``) and recorded
(:mod:`ledger.services.evidence`). A store that fails verification is 409 with the
reports; proofs are against the store's latest signed checkpoint, checked before they are
handed out. A bundle is a gzipped tar of the directory ``ledger export bundle`` writes.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from api.caller import CallerDep
from api.fields import Body, ClientRef, Day, StoreChoice, StoreName, stores
from api.problems import from_ledger_error, responses
from ledger.dates import parse_day
from ledger.errors import IntegrityFailure

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger

router = APIRouter(prefix="/v1", tags=["integrity"])
Position = Annotated[int, Query(ge=1, le=2**62)]
BUNDLE_TYPE = "application/gzip"
HEAD = r"^[0-9]{1,19}:[0-9a-fA-F]{64}$"  # a known head, POSITION:HEX


class HeadOut(BaseModel):
    position: int
    chain: str


class DamageOut(BaseModel):
    kind: str
    position: int
    notification_id: int | None
    detail: str


class RestoredOut(BaseModel):
    """How the store's signed checkpoint epoch began: a restore from a backup."""

    position: int
    lost: int
    at: datetime


class StoreReport(BaseModel):
    store: str
    ok: bool
    events: int
    head: HeadOut | None
    damage: DamageOut | None
    restored: RestoredOut | None = None
    notice: str | None = None


class Verification(BaseModel):
    ok: bool
    stores: list[StoreReport]


class CheckpointOut(BaseModel):
    origin: str
    size: int
    root: str
    time: datetime
    note: str = Field(description="The signed note (C2SP): keep a copy away from the "
                                  "server, it is what later checks trust")


class InclusionOut(BaseModel):
    store: str
    position: int
    size: int
    leaf: str
    root: str
    proof: list[str]
    verified: bool
    checkpoint: str | None


class ConsistencyOut(BaseModel):
    store: str
    old: int
    new: int
    old_root: str
    new_root: str
    proof: list[str]
    verified: bool


class BundleQuery(Body):
    store: StoreChoice = "all"
    client: ClientRef | None = None
    from_: Annotated[Day | None, Field(alias="from")] = None
    to: Day | None = None


@router.get("/verify", response_model=Verification, responses=responses(403))
def verify(caller: CallerDep,
           head: Annotated[str | None, Query(pattern=HEAD, description=(
               "POSITION:HEX: check the main store against this head instead of the "
               "recorded one"))] = None,
           pn_head: Annotated[str | None, Query(pattern=HEAD, description=(
               "The same for the psychotherapy-note store"))] = None,
           no_known_head: bool = False) -> Any:
    """Recompute both stores' hash chains. 409, with the reports, if either is damaged."""
    from ledger.integrity.heads import parse_head  # noqa: PLC0415

    known = {name: parse_head(text) for name, text in (("main", head), ("pn", pn_head))
             if text}
    with caller.acting():
        reports = caller.ledger.evidence.verify(by=caller.by, at=caller.at,
                                                known_heads=known,
                                                use_known_head=not no_known_head)
    out = [StoreReport(
        store=r.store, ok=r.ok, events=r.events,
        head=HeadOut(position=r.head.position, chain=r.head.chain.hex()) if r.head else None,
        damage=None if r.damage is None else DamageOut(
            kind=r.damage.kind, position=r.damage.position,
            notification_id=r.damage.notification_id, detail=r.damage.detail),
        restored=None if r.restored is None else RestoredOut(
            position=r.restored.position, lost=r.restored.lost, at=r.restored.at),
        notice=r.notice)
        for r in reports]
    if not all(r.ok for r in reports):
        damaged = "; ".join(f"{r.store}: {r.damage.describe()}" for r in reports
                            if r.damage is not None)
        return from_ledger_error(IntegrityFailure(damaged),
                                 stores=[s.model_dump(mode="json") for s in out])
    return Verification(ok=True, stores=out)


@router.post("/checkpoints", status_code=201, response_model=list[CheckpointOut],
             responses=responses(403))
def checkpoint(caller: CallerDep) -> list[CheckpointOut]:
    """Sign each store's tree size and root after verifying the chain since the previous
    signed checkpoint; the notes are written to the checkpoint directory and returned."""
    with caller.acting():
        written = caller.ledger.evidence.checkpoint(by=caller.by, at=caller.at)
    return [CheckpointOut(origin=c.origin, size=c.size, root=c.root.hex(), time=c.time,
                          note=c.note) for c, _ in written]


@router.get("/proofs/inclusion", response_model=InclusionOut, responses=responses(403))
def inclusion(caller: CallerDep, position: Position, store: StoreName = "main",
              size: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> InclusionOut:
    """Prove that the event at `position` is in the tree of the store's latest signed
    checkpoint (or of its first `size` events)."""
    with caller.acting():
        p = caller.ledger.evidence.inclusion(position, by=caller.by, at=caller.at,
                                             store=store, size=size)
    return InclusionOut(store=p.store, position=p.position, size=p.size, leaf=p.leaf.hex(),
                        root=p.root.hex(), proof=[h.hex() for h in p.proof],
                        verified=p.verified, checkpoint=p.checkpoint)


@router.get("/proofs/consistency", response_model=ConsistencyOut, responses=responses(403))
def consistency(caller: CallerDep, old: Position, new: Position,
                store: StoreName = "main") -> ConsistencyOut:
    """Prove that the tree of the first `old` events is a prefix of the tree of `new`,
    both within the store's latest signed checkpoint."""
    with caller.acting():
        p = caller.ledger.evidence.consistency(old, new, by=caller.by, at=caller.at,
                                               store=store)
    return ConsistencyOut(store=p.store, old=p.old, new=p.new, old_root=p.old_root.hex(),
                          new_root=p.new_root.hex(), proof=[h.hex() for h in p.proof],
                          verified=p.verified)


@router.post("/evidence-bundles", response_class=FileResponse, responses={
    **responses(403, 404),
    200: {"description": "The bundle, a gzipped tar of the directory `ledger export "
                         "bundle` writes; check it with `ledger verify-bundle`",
          "content": {BUNDLE_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
def bundle(body: BundleQuery, caller: CallerDep) -> Response:
    """Events as stored (ciphertext), their leaves, chain values and inclusion proofs
    against the latest signed checkpoint, and the checkpoints before it: all of them, or
    what concerns one client, or the access events of a period."""
    with caller.acting():
        return bundle_download(caller.ledger, by=caller.by, at=caller.at,
                               stores=stores(body.store), client_ref=body.client,
                               since=parse_day(body.from_, "from"),
                               until=parse_day(body.to, "to"))


def bundle_download(lg: Ledger, *, by: str, at: datetime, stores: tuple[str, ...],
                    client_ref: str | None, since: date | None, until: date | None
                    ) -> Response:
    """The bundle the service exports (and records) for ``by``, as a gzipped tar removed
    once sent (the console's download too)."""
    work = Path(tempfile.mkdtemp(prefix=".api-bundle-", dir=lg.settings.data_dir))  # 0700
    try:
        exported = work / "evidence-bundle"
        lg.evidence.export_bundle(exported, by=by, at=at, stores=stores,
                                  client_ref=client_ref, since=since, until=until)
        archive = work / "evidence-bundle.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(exported, arcname=exported.name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(archive, media_type=BUNDLE_TYPE, filename=archive.name,
                        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True))
