"""Remote mode's settings: the server's address (https, or plain http to this host only),
the token from the environment or from a file its owner alone may read (never echoed in a
message), and the timeout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli.remote.settings import DEFAULT_TIMEOUT_S, check_server, remote_settings
from ledger.errors import BadInput

TOKEN = "lgst_" + "Q" * 43


@pytest.mark.parametrize(("given", "base"), [
    ("https://ledger.example.org", "https://ledger.example.org"),
    ("https://ledger.example.org:8443/ledger/", "https://ledger.example.org:8443/ledger"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("http://localhost:8000/", "http://localhost:8000"),
    ("http://[::1]:8000", "http://[::1]:8000"),
])
def test_a_server_address_is_https_or_this_host(given: str, base: str) -> None:
    assert check_server(given) == base


@pytest.mark.parametrize(("given", "why"), [
    ("http://ledger.example.org", r"must be https: plain http is only for this host"),
    ("http://10.0.0.5:8000", r"must be https"),
    ("ftp://ledger.example.org", r"must be a URL such as https://ledger.example.org$"),
    ("ledger.example.org", r"must be a URL such as"),
    ("https://", r"must be a URL such as"),
    ("https://admin:secret@ledger.example.org", r"must not carry a user or password"),
    ("https://ledger.example.org/?client=C-1", r"must not have a query or a fragment$"),
    ("https://ledger.example.org:99999", r"is not a URL$"),
    ("", r"must be a URL such as"),
])
def test_any_other_address_is_one_line(given: str, why: str) -> None:
    with pytest.raises(BadInput, match=why):
        check_server(given)


def token_file(tmp_path: Path, text: str | bytes, mode: int = 0o600) -> str:
    path = tmp_path / "token"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    path.chmod(mode)
    return str(path)


def test_the_token_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    remote = remote_settings("https://l.example.org", None, {"LEDGER_TOKEN": f" {TOKEN}\n"})
    assert (remote.server, remote.token, remote.timeout) == (
        "https://l.example.org", TOKEN, DEFAULT_TIMEOUT_S)
    assert remote_settings("https://l.example.org", token_file(tmp_path, TOKEN + "\n"),
                           {}).token == TOKEN
    assert TOKEN not in repr(remote)


def test_the_token_is_given_once(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^remote mode \(LEDGER_SERVER\) needs your staff "
                                       r"token: set LEDGER_TOKEN or give --token-file FILE$"):
        remote_settings("https://l.example.org", None, {})
    with pytest.raises(BadInput, match=r"^give the token once: LEDGER_TOKEN or --token-file"):
        remote_settings("https://l.example.org", token_file(tmp_path, TOKEN),
                        {"LEDGER_TOKEN": TOKEN})


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_token_file_others_may_read_is_refused(tmp_path: Path) -> None:
    for mode in (0o644, 0o640, 0o602):
        with pytest.raises(BadInput, match=r"may be read or written by other users: make it "
                                           r"its owner's alone \(chmod 600 "):
            remote_settings("https://l.example.org", token_file(tmp_path, TOKEN, mode), {})


def test_a_token_file_that_holds_no_token_is_one_line(tmp_path: Path) -> None:
    cases = [(TOKEN + " extra", r"^the token is not a bearer token \(printable ASCII "
                                r"without spaces\)$"),
             ("", r"^the token is not a bearer token"),
             (b"\xff\xfe", r"does not hold a token \(ASCII text\)$"),
             ("x" * 20_000, r"is larger than 16384 bytes$")]
    for text, why in cases:
        with pytest.raises(BadInput, match=why) as caught:
            remote_settings("https://l.example.org", token_file(tmp_path, text), {})
        assert "extra" not in str(caught.value)
    with pytest.raises(BadInput, match=r"^cannot read the token file .*: No such file"):
        remote_settings("https://l.example.org", str(tmp_path / "missing"), {})
    with pytest.raises(BadInput, match=r"^the token is not a bearer token"):
        remote_settings("https://l.example.org", None, {"LEDGER_TOKEN": "Bearer " + TOKEN})


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "3601"])
def test_a_timeout_is_a_number_of_seconds(value: str) -> None:
    with pytest.raises(BadInput, match=r"^LEDGER_TIMEOUT .* must be a number of seconds"):
        remote_settings("https://l.example.org", None, {"LEDGER_TOKEN": TOKEN,
                                                        "LEDGER_TIMEOUT": value})
    assert remote_settings("https://l.example.org", None, {
        "LEDGER_TOKEN": TOKEN, "LEDGER_TIMEOUT": "2.5"}).timeout == 2.5


def test_every_remote_setting_is_in_the_readmes_table() -> None:
    from cli.remote import settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings"):]
    names = [v for k, v in vars(settings).items() if k.endswith("_ENV")]
    assert len(names) == 5
    assert [n for n in names if f"| `{n}` |" not in table] == []
