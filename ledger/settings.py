"""One settings object, read from the environment and an optional TOML config file.

Precedence: explicit arguments, then environment variables, then the config file
(``LEDGER_CONFIG``, default ``<data dir>/ledger.toml``), then defaults.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.display import shown
from ledger.errors import BadInput

DEFAULT_DATA_DIR = "ledger-data"

# Environment variable -> config-file key.
_KEYS = {
    "LEDGER_URL": "url",
    "LEDGER_PN_URL": "pn_url",
    "LEDGER_SCHEMA": "schema",
    "LEDGER_PN_SCHEMA": "pn_schema",
    "LEDGER_KEK_FILE": "kek_file",
    "LEDGER_PN_KEK_FILE": "pn_kek_file",
    "LEDGER_CHECKPOINT_DIR": "checkpoint_dir",
    "LEDGER_CHECKPOINT_ORIGIN": "checkpoint_origin",
    "LEDGER_PSEUDONYM_FILE": "pseudonym_file",
}
# The variable that may hold the base64 pseudonym secret instead of its file.
PSEUDONYM_ENV = "LEDGER_PSEUDONYM_KEY"


@dataclass(frozen=True)
class StoreSettings:
    name: str
    url: str
    schema: str | None
    kek_file: Path
    kek_env: str  # name of the variable that may hold the base64 KEK instead of the file
    heads_file: Path  # the known chain head, outside the database


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    main: StoreSettings
    pn: StoreSettings
    # Where signed checkpoints are exported and read back from (outside the database).
    checkpoint_dir: Path | None = None
    # The checkpoints' origin prefix (C2SP); None: derived from the signing key.
    checkpoint_origin: str | None = None
    # The secret that keys client ids, one per installation (both stores); None: the
    # default, beside the key-encryption keys.
    pseudonym_file: Path | None = None

    @property
    def checkpoints(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def pseudonym_secret(self) -> Path:
        return self.pseudonym_file or self.data_dir / "keys" / "pseudonym.key"


_SCHEMA = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _schema(value: str | None) -> str | None:
    if value is not None and not _SCHEMA.fullmatch(value):
        raise BadInput(f"schema name {shown(value)} must be a plain SQL identifier")
    return value


_ORIGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")


def _origin(value: str | None) -> str | None:
    if value is not None and not _ORIGIN.fullmatch(value):
        raise BadInput(f"checkpoint origin {shown(value)} must be a schema-less URL such as "
                       "clinic.example.org/ledger (letters, digits and . _ : / -)")
    return value.rstrip("/") if value else None


def load_settings(data_dir: str | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """The settings for ``data_dir`` (else LEDGER_DATA_DIR, else ./ledger-data)."""
    env = os.environ if environ is None else environ
    root = Path(data_dir or env.get("LEDGER_DATA_DIR") or DEFAULT_DATA_DIR).absolute()
    config = _read_config(Path(env.get("LEDGER_CONFIG") or root / "ledger.toml"))

    def get(var: str) -> str | None:
        return env.get(var) or config.get(_KEYS[var])

    keys = root / "keys"
    return Settings(
        data_dir=root,
        main=StoreSettings(
            name="main",
            url=get("LEDGER_URL") or f"sqlite:///{root / 'main.sqlite'}",
            schema=_schema(get("LEDGER_SCHEMA")),
            kek_file=Path(get("LEDGER_KEK_FILE") or keys / "main.kek"),
            kek_env="LEDGER_KEK",
            heads_file=root / "heads" / "main.json",
        ),
        pn=StoreSettings(
            name="psychotherapy",
            url=get("LEDGER_PN_URL") or f"sqlite:///{root / 'psychotherapy.sqlite'}",
            schema=_schema(get("LEDGER_PN_SCHEMA")),
            kek_file=Path(get("LEDGER_PN_KEK_FILE") or keys / "psychotherapy.kek"),
            kek_env="LEDGER_PN_KEK",
            heads_file=root / "heads" / "psychotherapy.json",
        ),
        checkpoint_dir=Path(d) if (d := get("LEDGER_CHECKPOINT_DIR")) else None,
        checkpoint_origin=_origin(get("LEDGER_CHECKPOINT_ORIGIN")),
        pseudonym_file=Path(p) if (p := get("LEDGER_PSEUDONYM_FILE")) else None,
    )


def _read_config(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read config file {path}: {e}") from None
    unknown = set(data) - set(_KEYS.values())
    if unknown:
        raise BadInput(f"config file {path}: unknown keys {', '.join(sorted(unknown))}")
    if not all(isinstance(v, str) for v in data.values()):
        raise BadInput(f"config file {path}: every value must be a string")
    return {str(k): str(v) for k, v in data.items()}
