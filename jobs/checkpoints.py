"""Issue a signed checkpoint for each store and export it outside the database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ledger.bootstrap import open_main, open_pn
from ledger.integrity.checkpoint import Checkpoint, CheckpointLog, load_signing_key
from ledger.settings import Settings


def checkpoint_all(settings: Settings, at: datetime,
                   out: Path | None = None) -> list[tuple[Checkpoint, Path]]:
    """One checkpoint per store (also when nothing changed, so gaps show), each written
    to ``out`` (default ``<data dir>/checkpoints``) as ``<store>/<size>-<time>.note``."""
    private = load_signing_key(settings.data_dir)
    directory = out or settings.data_dir / "checkpoints"
    written: list[tuple[Checkpoint, Path]] = []
    main = open_main(settings)
    try:
        pn = open_pn(settings, main)
        try:
            for store in (main, pn):
                checkpoint = CheckpointLog(store).issue(private, at)
                folder = directory / store.settings.name
                folder.mkdir(parents=True, exist_ok=True)
                stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                path = folder / f"{checkpoint.size:012d}-{stamp}.note"
                path.write_text(checkpoint.note, encoding="utf-8")
                written.append((checkpoint, path))
        finally:
            pn.close()
    finally:
        main.close()
    return written
