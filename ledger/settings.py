"""One settings object, read from the environment and an optional TOML config file.

Precedence: explicit arguments, then environment variables, then the config file
(``LEDGER_CONFIG``, default ``<data dir>/ledger.toml``), then defaults.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.display import shown
from ledger.errors import BadInput
from ledger.identifiers import check_staff_id

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
    "LEDGER_KEY_DIR": "key_dir",
    "LEDGER_OIDC_ISSUER": "oidc_issuer",
    "LEDGER_OIDC_AUDIENCE": "oidc_audience",
    "LEDGER_OIDC_JWKS": "oidc_jwks",
    "LEDGER_OIDC_STAFF_CLAIM": "oidc_staff_claim",
    "LEDGER_OIDC_ALGORITHMS": "oidc_algorithms",
    "LEDGER_OIDC_LEEWAY": "oidc_leeway",
    "LEDGER_OIDC_DELEGATES": "oidc_delegates",
    "LEDGER_KEK_PROVIDER": "kek_provider",
    "LEDGER_KEK_PASSPHRASE_FD": "kek_passphrase_fd",
    "LEDGER_PKCS11_MODULE": "pkcs11_module",
    "LEDGER_PKCS11_TOKEN": "pkcs11_token",
    "LEDGER_PKCS11_PIN_FILE": "pkcs11_pin_file",
    "LEDGER_BACKUP_RETENTION_DAYS": "backup_retention_days",
    "LEDGER_CONSOLE_IDLE_SECONDS": "console_idle_seconds",
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
class OidcSettings:
    """How the service verifies OpenID Connect bearer tokens (README "Authentication")."""

    issuer: str  # the ``iss`` every token must carry
    audience: str  # the ``aud`` it must include: this service
    jwks: str  # the issuer's signing keys: an https URL or a file path
    staff_claim: str = "sub"  # the claim whose value is the staff id
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway: int = 30  # seconds of clock skew allowed on exp, nbf and iat
    # The staff ids of service principals that may act for an end user they name.
    delegates: frozenset[str] = frozenset()


# The console's automatic logoff (45 CFR 164.312(a)(2)(iii)): 15 minutes unless set.
DEFAULT_CONSOLE_IDLE_SECONDS = 900
MAX_CONSOLE_IDLE_SECONDS = 3600

KEK_PROVIDERS = ("file", "passphrase", "pkcs11")
DEFAULT_BACKUP_RETENTION_DAYS = 35
MAX_BACKUP_RETENTION_DAYS = 3660


@dataclass(frozen=True)
class Pkcs11Settings:
    """Where the PKCS#11 token holding the key-encryption keys is (README "Key-encryption
    keys"). The PIN is read from a 0600 file, never from an argument."""

    module: Path  # the provider library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token: str  # the token's label
    pin_file: Path


@dataclass(frozen=True)
class KekSettings:
    """Which provider holds the key-encryption keys (both stores), and how old a backup
    may be before the epochs it needs are retired."""

    provider: str = "file"
    passphrase_fd: int | None = None  # where the passphrase is read from; else a prompt
    pkcs11: Pkcs11Settings | None = None
    backup_retention_days: int = DEFAULT_BACKUP_RETENTION_DAYS


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
    # OpenID Connect bearer tokens for the service; None: only staff tokens are accepted.
    oidc: OidcSettings | None = None
    # Where the keys live (key-encryption keys, pseudonym secret, checkpoint signing key);
    # None: <data dir>/keys. Keys may so live outside the data directory.
    key_dir: Path | None = None
    kek: KekSettings = KekSettings()
    # The console signs a session out after this many seconds without a request.
    console_idle_seconds: int = DEFAULT_CONSOLE_IDLE_SECONDS

    @property
    def keys(self) -> Path:
        return self.key_dir or self.data_dir / "keys"

    @property
    def checkpoints(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def journal(self) -> Path:
        """The destruction journal, outside the database beside the known heads."""
        return self.data_dir / "journal" / "destructions.jsonl"

    @property
    def pseudonym_secret(self) -> Path:
        return self.pseudonym_file or self.keys / "pseudonym.key"


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

    keys = Path(get("LEDGER_KEY_DIR") or root / "keys").absolute()
    if env.get("LEDGER_KEK_PASSPHRASE"):
        raise BadInput("LEDGER_KEK_PASSPHRASE is never read: a passphrase in the environment "
                       "is visible to other processes; give it on a file descriptor "
                       "(LEDGER_KEK_PASSPHRASE_FD) or at the prompt")
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
        oidc=_oidc(get),
        key_dir=keys,
        kek=_kek(get),
        console_idle_seconds=_idle(get("LEDGER_CONSOLE_IDLE_SECONDS")),
    )


def _idle(value: str | None) -> int:
    if value is None:
        return DEFAULT_CONSOLE_IDLE_SECONDS
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_CONSOLE_IDLE_SECONDS:
        raise BadInput(f"LEDGER_CONSOLE_IDLE_SECONDS must be a whole number of seconds from 1 "
                       f"to {MAX_CONSOLE_IDLE_SECONDS}")
    return int(value)


def _kek(get: Callable[[str], str | None]) -> KekSettings:
    provider = get("LEDGER_KEK_PROVIDER") or "file"
    if provider not in KEK_PROVIDERS:
        raise BadInput(f"LEDGER_KEK_PROVIDER {shown(provider)} must be one of "
                       f"{', '.join(KEK_PROVIDERS)}")
    fd = get("LEDGER_KEK_PASSPHRASE_FD")
    if fd is not None and not (fd.isdigit() and 0 <= int(fd) <= 65535):
        raise BadInput("LEDGER_KEK_PASSPHRASE_FD must be a file descriptor number")
    module, token, pin = (get(f"LEDGER_PKCS11_{n}") for n in ("MODULE", "TOKEN", "PIN_FILE"))
    pkcs11 = None
    if module or token or pin:
        if not (module and token and pin):
            raise BadInput("LEDGER_PKCS11_MODULE, LEDGER_PKCS11_TOKEN and "
                           "LEDGER_PKCS11_PIN_FILE go together: set all three")
        pkcs11 = Pkcs11Settings(module=Path(module), token=token, pin_file=Path(pin))
    if provider == "pkcs11" and pkcs11 is None:
        raise BadInput("LEDGER_KEK_PROVIDER=pkcs11 needs LEDGER_PKCS11_MODULE, "
                       "LEDGER_PKCS11_TOKEN and LEDGER_PKCS11_PIN_FILE")
    days = get("LEDGER_BACKUP_RETENTION_DAYS")
    if days is not None and not (days.isdigit() and 1 <= int(days) <= MAX_BACKUP_RETENTION_DAYS):
        raise BadInput(f"LEDGER_BACKUP_RETENTION_DAYS must be 1 to {MAX_BACKUP_RETENTION_DAYS} "
                       "days")
    return KekSettings(provider=provider, passphrase_fd=int(fd) if fd is not None else None,
                       pkcs11=pkcs11,
                       backup_retention_days=int(days) if days else
                       DEFAULT_BACKUP_RETENTION_DAYS)


# Signature algorithms with a public key: a token is never verified with a shared secret
# (HS*: the JWKS is public, so anyone could sign) nor with none.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")
MAX_LEEWAY = 300
_CLAIM = re.compile(r"[!-~]{1,200}")  # a claim name: printable ASCII, no space


def _oidc(get: Callable[[str], str | None]) -> OidcSettings | None:
    issuer, audience, jwks = (get(f"LEDGER_OIDC_{n}") for n in ("ISSUER", "AUDIENCE", "JWKS"))
    if not (issuer or audience or jwks):
        for var in ("STAFF_CLAIM", "ALGORITHMS", "LEEWAY", "DELEGATES"):
            if get(f"LEDGER_OIDC_{var}"):
                raise BadInput(f"LEDGER_OIDC_{var} is set but LEDGER_OIDC_ISSUER is not")
        return None
    if not (issuer and audience and jwks):
        raise BadInput("LEDGER_OIDC_ISSUER, LEDGER_OIDC_AUDIENCE and LEDGER_OIDC_JWKS go "
                       "together: set all three")
    if "://" in jwks and not jwks.startswith("https://"):
        raise BadInput(f"LEDGER_OIDC_JWKS {shown(jwks)} must be an https URL or a file path")
    claim = get("LEDGER_OIDC_STAFF_CLAIM") or OidcSettings.staff_claim
    if not _CLAIM.fullmatch(claim):
        raise BadInput(f"LEDGER_OIDC_STAFF_CLAIM {shown(claim)} must be a claim name")
    return OidcSettings(issuer=issuer, audience=audience, jwks=jwks, staff_claim=claim,
                        algorithms=_algorithms(get("LEDGER_OIDC_ALGORITHMS")),
                        leeway=_leeway(get("LEDGER_OIDC_LEEWAY")),
                        delegates=_delegates(get("LEDGER_OIDC_DELEGATES")))


def _algorithms(value: str | None) -> tuple[str, ...]:
    if value is None:
        return OidcSettings.algorithms
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    refused = [n for n in names if n not in ASYMMETRIC]
    if refused or not names:
        raise BadInput(f"LEDGER_OIDC_ALGORITHMS: {shown(', '.join(refused) or value)} is not "
                       f"allowed; use some of {', '.join(ASYMMETRIC)}")
    return names


def _leeway(value: str | None) -> int:
    if value is None:
        return OidcSettings.leeway
    if not value.isdigit() or int(value) > MAX_LEEWAY:
        raise BadInput(f"LEDGER_OIDC_LEEWAY must be 0 to {MAX_LEEWAY} seconds")
    return int(value)


def _delegates(value: str | None) -> frozenset[str]:
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    return frozenset(check_staff_id(n, "each of LEDGER_OIDC_DELEGATES") for n in names)


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
