"""Integrity evidence over the API (``/v1/verify``, ``/v1/checkpoints``, ``/v1/proofs``,
``/v1/evidence-bundles``): what ``ledger verify``, ``checkpoint``, ``proof`` and ``export
bundle`` call. Locally these are the key holder's commands; remotely each is an audited use
by the token's staff member, which the roles table decides (compliance, supervisors and
admins) and the server records."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from cli.remote.connection import Connection, json_of, store_choice
from cli.remote.decode import build, build_list, convert
from cli.remote.problems import error_for, kind_of, problem_of
from ledger.display import escape
from ledger.errors import BadInput
from ledger.integrity.records import Checkpoint, Damage, KnownHead, Report, Restored, note_name
from ledger.primitives import private_files
from ledger.views import ConsistencyProof, InclusionProof

BUNDLE = "evidence-bundle"  # the directory the server's archive holds
STORE_FOLDERS = ("main", "psychotherapy")  # in the order the service exports them
LOCAL_ONLY_PROOF = ("--checkpoint and --public-key are for local mode: the server proves "
                    "against its latest signed checkpoint, checked with its own key")


def verify(connection: Connection, *, known_heads: Mapping[str, KnownHead] | None = None,
           use_known_head: bool = True) -> list[Report]:
    """Both stores' reports; a store that fails is a report with its damage (the server
    answers 409 with the reports), as local mode's verification returns it."""
    heads = {name: f"{h.position}:{h.chain.hex()}" for name, h in (known_heads or {}).items()}
    response = connection.request("GET", "/v1/verify", params={
        "head": heads.get("main"), "pn_head": heads.get("pn"),
        "no_known_head": None if use_known_head else True})
    if response.is_success:
        body = json_of(response)
    else:
        body = problem_of(response)
        if kind_of(body) != "integrity-failure" or body is None or "stores" not in body:
            raise error_for(response)
    stores = body.get("stores") if isinstance(body, dict) else None
    return [_report(s) for s in build_list(_StoreReport, stores)]


class Integrity:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def checkpoint(self, *, at: datetime, out: Path | None = None
                   ) -> list[tuple[Checkpoint, Path]]:
        """The server signs each store's checkpoint and keeps the note in its checkpoint
        directory; a copy of each goes to ``out``, named as there. Without ``out``, the
        path given is the server's, ``server:<store>/<name>``."""
        signed = [Checkpoint(origin=c.origin, size=c.size, root=convert(bytes, c.root, "root"),
                             time=c.time, note=c.note)
                  for c in build_list(_Signed, self.connection.call("POST", "/v1/checkpoints"))]
        written = []
        for checkpoint in signed:
            store = checkpoint.origin.rsplit("/", 1)[-1]
            if out is None:
                written.append((checkpoint, Path(f"server:{store}") / note_name(checkpoint)))
                continue
            path = out / store / note_name(checkpoint)
            try:
                private_files.make_dir(path.parent)
                private_files.replace(path, checkpoint.note.encode("utf-8"))
            except OSError as e:
                raise BadInput(f"the server signed the checkpoints, but their copy cannot be "
                               f"written to {escape(str(path))}: {e.strerror}") from None
            written.append((checkpoint, path))
        return written


class Proofs:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def inclusion(self, position: int, *, store: str = "main", size: int | None = None,
                  checkpoint: str | None = None, public_key: bytes | None = None
                  ) -> InclusionProof:
        if checkpoint is not None or public_key is not None:
            raise BadInput(LOCAL_ONLY_PROOF)
        return build(InclusionProof, self.connection.call(
            "GET", "/v1/proofs/inclusion",
            params={"position": position, "store": store, "size": size}))

    def consistency(self, old: int, new: int, *, store: str = "main",
                    public_key: bytes | None = None) -> ConsistencyProof:
        if public_key is not None:
            raise BadInput(LOCAL_ONLY_PROOF)
        return build(ConsistencyProof, self.connection.call(
            "GET", "/v1/proofs/consistency", params={"old": old, "new": new, "store": store}))

    def export_bundle(self, directory: Path, *, stores: tuple[str, ...] = ("main", "pn"),
                      client_ref: str | None = None, since: date | None = None,
                      until: date | None = None, public_key: bytes | None = None
                      ) -> list[tuple[str, int]]:
        """The server's bundle (a gzipped tar of the directory ``export bundle`` writes),
        unpacked into ``directory``: complete or absent, as in local mode (staged beside
        it, moved into place when whole, removed if anything fails or stops it)."""
        if public_key is not None:
            raise BadInput(LOCAL_ONLY_PROOF)
        if directory.exists():
            raise BadInput(f"{directory} already exists; give a new directory")
        private_files.make_dir(directory.parent)
        staged = Path(tempfile.mkdtemp(prefix=f"{directory.name}.partial-",
                                       dir=directory.parent))
        try:
            archive = staged / "bundle.tar.gz"
            with archive.open("wb") as f:
                self.connection.download("/v1/evidence-bundles", {
                    "store": store_choice(stores), "client": client_ref, "from": since,
                    "to": until}, f)
            _unpack(archive, staged)
            counts = [(name, _events(staged / BUNDLE / name)) for name in STORE_FOLDERS
                      if (staged / BUNDLE / name).is_dir()]
            if directory.exists():
                raise BadInput(f"{directory} already exists; give a new directory")
            (staged / BUNDLE).rename(directory)
        finally:
            shutil.rmtree(staged, ignore_errors=True)  # a bundle is complete or absent
        return counts


def _unpack(archive: Path, into: Path) -> None:
    """Only the bundle's own directories and regular files, inside ``into``, 0700 and
    0600: a path that leaves it, a link or a device is refused."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                parts = PurePosixPath(m.name).parts
                if (not parts or parts[0] != BUNDLE or ".." in parts or m.name.startswith("/")
                        or not (m.isfile() or m.isdir())):
                    raise BadInput("the server's bundle holds an entry outside the bundle; "
                                   "nothing was written")
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BadInput(f"the server's bundle cannot be unpacked ({type(e).__name__}); nothing "
                       "was written") from None
    for root, dirs, files in os.walk(into / BUNDLE):
        os.chmod(root, private_files.DIR_MODE)
        for name in files:
            os.chmod(Path(root) / name, private_files.FILE_MODE)
        del dirs


def _events(folder: Path) -> int:
    with (folder / "events.jsonl").open("rb") as f:
        return sum(1 for line in f if line.strip())


# ----- the answers ---------------------------------------------------------------------------

def _report(s: _StoreReport) -> Report:
    return Report(store=s.store, events=s.events,
                  head=(KnownHead(s.head.position, convert(bytes, s.head.chain, "head"))
                        if s.head is not None else None),
                  damage=(Damage(s.damage.kind, s.damage.position, s.damage.notification_id,
                                 s.damage.detail) if s.damage is not None else None),
                  restored=(Restored(s.restored.position, s.restored.lost, s.restored.at)
                            if s.restored is not None else None),
                  notice=s.notice)


@dataclass(frozen=True)
class _HeadOut:
    position: int
    chain: str


@dataclass(frozen=True)
class _DamageOut:
    kind: str
    position: int
    notification_id: int | None
    detail: str


@dataclass(frozen=True)
class _StoreReport:
    store: str
    events: int
    head: _HeadOut | None
    damage: _DamageOut | None
    restored: _RestoredOut | None = None
    notice: str | None = None


@dataclass(frozen=True)
class _RestoredOut:
    position: int
    lost: int
    at: datetime


@dataclass(frozen=True)
class _Signed:
    origin: str
    size: int
    root: str
    time: datetime
    note: str

