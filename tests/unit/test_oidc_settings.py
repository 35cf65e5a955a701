"""The OpenID Connect settings (LEDGER_OIDC_*): all or nothing, an allow-list of public-key
algorithms only, a bounded leeway, and well-formed delegates; each mistake one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.errors import BadInput
from ledger.settings import OidcSettings, Settings, load_settings

BASE = {"LEDGER_OIDC_ISSUER": "https://idp.example", "LEDGER_OIDC_AUDIENCE": "ledger-api",
        "LEDGER_OIDC_JWKS": "/etc/ledger/jwks.json"}


def load(tmp_path: Path, **env: str) -> Settings:
    return load_settings(str(tmp_path), environ=env)


def test_unset_means_staff_tokens_only_and_set_has_safe_defaults(tmp_path: Path) -> None:
    assert load(tmp_path).oidc is None
    assert load(tmp_path, **BASE).oidc == OidcSettings(
        issuer="https://idp.example", audience="ledger-api", jwks="/etc/ledger/jwks.json",
        staff_claim="sub", algorithms=("RS256", "ES256"), leeway=30, delegates=frozenset())


def test_the_config_file_holds_them_too(tmp_path: Path) -> None:
    (tmp_path / "ledger.toml").write_text(
        'oidc_issuer = "https://idp.example"\noidc_audience = "ledger-api"\n'
        'oidc_jwks = "https://idp.example/jwks"\noidc_staff_claim = "preferred_username"\n'
        'oidc_algorithms = "ES256, PS256"\noidc_leeway = "10"\noidc_delegates = "ehr,lab"\n')
    oidc = load(tmp_path).oidc
    assert oidc is not None
    assert (oidc.jwks, oidc.staff_claim, oidc.algorithms, oidc.leeway, oidc.delegates) == (
        "https://idp.example/jwks", "preferred_username", ("ES256", "PS256"), 10,
        frozenset({"ehr", "lab"}))


@pytest.mark.parametrize(("env", "message"), [
    ({"LEDGER_OIDC_ISSUER": "https://idp.example"},
     "LEDGER_OIDC_ISSUER, LEDGER_OIDC_AUDIENCE and LEDGER_OIDC_JWKS go together: set all three"),
    ({"LEDGER_OIDC_DELEGATES": "ehr"}, "LEDGER_OIDC_DELEGATES is set but LEDGER_OIDC_ISSUER "
                                       "is not"),
    ({**BASE, "LEDGER_OIDC_ALGORITHMS": "none"},
     "LEDGER_OIDC_ALGORITHMS: 'none' is not allowed; use some of RS256, "),
    ({**BASE, "LEDGER_OIDC_ALGORITHMS": "RS256,HS256"},
     "LEDGER_OIDC_ALGORITHMS: 'HS256' is not allowed; use some of RS256, "),
    ({**BASE, "LEDGER_OIDC_ALGORITHMS": " , "}, "LEDGER_OIDC_ALGORITHMS: ' , ' is not allowed"),
    ({**BASE, "LEDGER_OIDC_JWKS": "http://idp.example/jwks"},
     "LEDGER_OIDC_JWKS 'http://idp.example/jwks' must be an https URL or a file path"),
    ({**BASE, "LEDGER_OIDC_LEEWAY": "301"}, "LEDGER_OIDC_LEEWAY must be 0 to 300 seconds"),
    ({**BASE, "LEDGER_OIDC_LEEWAY": "-1"}, "LEDGER_OIDC_LEEWAY must be 0 to 300 seconds"),
    ({**BASE, "LEDGER_OIDC_STAFF_CLAIM": "staff id"},
     "LEDGER_OIDC_STAFF_CLAIM 'staff id' must be a claim name"),
    ({**BASE, "LEDGER_OIDC_DELEGATES": "ehr, bad id"},
     "each of LEDGER_OIDC_DELEGATES must be 1 to 64 letters"),
])
def test_each_mistake_is_one_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(BadInput, match="^" + re.escape(message)):
        load(tmp_path, **env)


def test_every_setting_is_in_the_readmes_table() -> None:
    from ledger import settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings"):]
    assert [v for v, key in settings._KEYS.items()
            if f"`{v}`" not in table or f"`{key}`" not in table] == []
