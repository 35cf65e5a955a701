"""The console's sign-in with the identity provider (LEDGER_CONSOLE_OIDC_*): on when the
client id is set, then with its endpoints and the API's issuer and key set; each mistake is
one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.errors import BadInput
from ledger.settings import ConsoleOidcSettings, Settings, load_settings

API = {"LEDGER_OIDC_ISSUER": "https://idp.example", "LEDGER_OIDC_AUDIENCE": "ledger-api",
       "LEDGER_OIDC_JWKS": "/etc/ledger/jwks.json"}
CALLBACK = "https://ledger.clinic.example/console/sign-in/oidc/callback"
CONSOLE = {**API, "LEDGER_CONSOLE_OIDC_CLIENT_ID": "ledger-console",
           "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL": "https://idp.example/authorize",
           "LEDGER_CONSOLE_OIDC_TOKEN_URL": "https://idp.example/token",
           "LEDGER_CONSOLE_OIDC_REDIRECT_URI": CALLBACK}


def load(tmp_path: Path, **env: str) -> Settings:
    return load_settings(str(tmp_path), environ=env)


def test_off_unless_a_client_id_is_set(tmp_path: Path) -> None:
    assert load(tmp_path).console_oidc is None
    assert load(tmp_path, **API).console_oidc is None
    assert load(tmp_path, **CONSOLE).console_oidc == ConsoleOidcSettings(
        client_id="ledger-console", authorize_url="https://idp.example/authorize",
        token_url="https://idp.example/token", redirect_uri=CALLBACK,
        client_secret_file=None)


def test_the_config_file_holds_them_too_and_http_is_for_this_host_only(
        tmp_path: Path) -> None:
    (tmp_path / "ledger.toml").write_text(
        'oidc_issuer = "http://127.0.0.1:8080"\noidc_audience = "ledger-api"\n'
        'oidc_jwks = "/etc/ledger/jwks.json"\nconsole_oidc_client_id = "console"\n'
        'console_oidc_authorize_url = "http://localhost:8080/auth?tenant=a"\n'
        'console_oidc_token_url = "http://127.0.0.1:8080/token"\n'
        'console_oidc_redirect_uri = "http://127.0.0.1:8000/console/sign-in/oidc/callback"\n'
        'console_oidc_client_secret_file = "/etc/ledger/console.secret"\n')
    console = load(tmp_path).console_oidc
    assert console is not None
    assert (console.authorize_url, console.client_secret_file) == (
        "http://localhost:8080/auth?tenant=a", Path("/etc/ledger/console.secret"))


@pytest.mark.parametrize(("env", "message"), [
    ({"LEDGER_CONSOLE_OIDC_TOKEN_URL": "https://idp.example/token"},
     "LEDGER_CONSOLE_OIDC_TOKEN_URL is set but LEDGER_CONSOLE_OIDC_CLIENT_ID is not"),
    ({**CONSOLE, "LEDGER_OIDC_ISSUER": "", "LEDGER_OIDC_AUDIENCE": "", "LEDGER_OIDC_JWKS": ""},
     "LEDGER_CONSOLE_OIDC_CLIENT_ID needs LEDGER_OIDC_ISSUER, LEDGER_OIDC_AUDIENCE and "
     "LEDGER_OIDC_JWKS: the console checks the ID token against the same issuer and key set"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_CLIENT_ID": "ledger-api"},
     "LEDGER_CONSOLE_OIDC_CLIENT_ID must differ from LEDGER_OIDC_AUDIENCE"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_CLIENT_ID": "ledger console"},
     "LEDGER_CONSOLE_OIDC_CLIENT_ID 'ledger console' must be 1 to 200 printable characters"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_TOKEN_URL": ""},
     "LEDGER_CONSOLE_OIDC_CLIENT_ID needs LEDGER_CONSOLE_OIDC_AUTHORIZE_URL, "
     "LEDGER_CONSOLE_OIDC_TOKEN_URL and LEDGER_CONSOLE_OIDC_REDIRECT_URI"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_TOKEN_URL": "http://idp.example/token"},
     "LEDGER_CONSOLE_OIDC_TOKEN_URL 'http://idp.example/token' must be an https URL (http "
     "only on localhost), without a fragment or user name"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL": "https://idp.example/a#x"},
     "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL 'https://idp.example/a#x' must be an https URL"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL": "https://user@idp.example/a"},
     "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL 'https://user@idp.example/a' must be an https URL"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL": "idp.example/authorize"},
     "LEDGER_CONSOLE_OIDC_AUTHORIZE_URL 'idp.example/authorize' must be an https URL"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_REDIRECT_URI": "https://ledger.example/callback"},
     "LEDGER_CONSOLE_OIDC_REDIRECT_URI 'https://ledger.example/callback' must end in "
     "/console/sign-in/oidc/callback, without a query"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_REDIRECT_URI": CALLBACK + "?next=x"},
     f"LEDGER_CONSOLE_OIDC_REDIRECT_URI '{CALLBACK}?next=x' must end in"),
    ({**CONSOLE, "LEDGER_CONSOLE_OIDC_REDIRECT_URI": "http://ledger.example"
                                                      "/console/sign-in/oidc/callback"},
     "LEDGER_CONSOLE_OIDC_REDIRECT_URI 'http://ledger.example/console/sign-in/oidc/callback' "
     "must be an https URL (http only on localhost)"),
])
def test_each_mistake_is_one_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(BadInput, match="^" + re.escape(message)) as raised:
        load(tmp_path, **env)
    assert "\n" not in str(raised.value)
