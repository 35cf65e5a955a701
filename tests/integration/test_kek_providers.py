"""The key-encryption key providers: a PKCS#11 token (a real SoftHSM2 token, its own
directory per test) whose keys never leave it, and files sealed under a passphrase read from
a file descriptor. Each opens a store, rotates and retires through the same interface."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.bootstrap import initialise, open_ledger
from ledger.errors import BadInput, KeyMaterialError, NotInitialised
from ledger.settings import KekSettings, Pkcs11Settings, Settings, load_settings
from tests.conftest import AT, make_settings, seed
from tests.integration.test_key_rotation import notes_for, read_all

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "4711-2342"


def _softhsm() -> None:
    if not SOFTHSM_MODULE.exists() or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI"):
            pytest.fail("SoftHSM2 must be installed in CI (.ci/run installs softhsm2)")
        pytest.skip("softhsm2 is not installed (apt-get install softhsm2)")
    if importlib.util.find_spec("pkcs11") is None:
        if os.environ.get("CI"):
            pytest.fail("python-pkcs11 must be installed in CI (the dev extra has it)")
        pytest.skip("python-pkcs11 is not installed (pip install 'ledger[pkcs11]')")


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pkcs11Settings:
    """A fresh SoftHSM2 token in this test's own directory."""
    _softhsm()
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    label = f"ledger-{tmp_path.name[-20:]}"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                    "--so-pin", "0000-9999", "--pin", PIN], check=True, capture_output=True)
    import pkcs11

    pkcs11.lib(str(SOFTHSM_MODULE)).reinitialize()  # SoftHSM2 reads its config again
    pin = tmp_path / "pin"
    pin.write_text(PIN + "\n")
    pin.chmod(0o600)
    return Pkcs11Settings(module=SOFTHSM_MODULE, token=label, pin_file=pin)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hsm_settings(request: pytest.FixtureRequest, tmp_path: Path,
                 token: Pkcs11Settings) -> Iterator[Settings]:
    gen = make_settings(tmp_path, request.param)
    s = next(gen)
    yield replace(s, kek=KekSettings(provider="pkcs11", pkcs11=token))
    next(gen, None)


def _token_key(p11: Pkcs11Settings, label: str):  # type: ignore[no-untyped-def]
    import pkcs11

    lib = pkcs11.lib(str(p11.module))
    session = lib.get_token(token_label=p11.token).open(user_pin=PIN, rw=True)
    (key,) = session.get_objects({pkcs11.Attribute.LABEL: label})
    return session, key


def test_a_store_under_a_token_key_writes_reads_rotates_and_retires(
        hsm_settings: Settings) -> None:
    initialise(hsm_settings, AT)
    assert not hsm_settings.main.kek_file.exists()  # no key file: the key is in the token
    with open_ledger(hsm_settings) as lg:
        seed(lg)
        notes = notes_for(lg, 3)
        read_all(lg, notes)
        assert [(e.version, e.provider) for e in lg.keys.status("main")] == [(1, "pkcs11")]
        lg.keys.rotate("main", at=AT, batch=2)
        lg.keys.retire("main", 1, at=AT)
        lg.main.keyring._sealers.clear()
        read_all(lg, notes)
    with open_ledger(hsm_settings) as lg:  # a new process: the token unwraps every key
        read_all(lg, notes)
        assert lg.pn.keyring.kek(1).version == 1
    import pkcs11

    session, _ = _token_key(hsm_settings.kek.pkcs11, "ledger-main-kek-v2")  # type: ignore[arg-type]
    try:
        labels = {k.label for k in session.get_objects(
            {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY})}
    finally:
        session.close()
    assert labels == {"ledger-main-kek-v2", "ledger-psychotherapy-kek-v1"}  # v1 destroyed


def test_the_token_key_cannot_be_exported(hsm_settings: Settings) -> None:
    """The insider with the PIN and the token asks for the key's bytes, or wraps it out
    under a key of their own: the token refuses both."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism
    from pkcs11.exceptions import AttributeSensitive, KeyUnextractable, PKCS11Error

    initialise(hsm_settings, AT)
    p11 = hsm_settings.kek.pkcs11
    assert p11 is not None
    session, kek = _token_key(p11, "ledger-main-kek-v1")
    try:
        assert kek[Attribute.SENSITIVE] is True
        assert kek[Attribute.EXTRACTABLE] is False
        assert kek[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(AttributeSensitive):
            kek[Attribute.VALUE]
        mine = session.generate_key(KeyType.AES, 256, template={
            Attribute.WRAP: True, Attribute.EXTRACTABLE: True})
        with pytest.raises(KeyUnextractable):
            mine.wrap_key(kek, mechanism=Mechanism.AES_KEY_WRAP_PAD)
        with pytest.raises(PKCS11Error):  # nor can the key be made extractable again
            kek[Attribute.EXTRACTABLE] = True
    finally:
        session.close()
    del pkcs11


def test_a_missing_token_key_or_a_wrong_pin_is_one_line(hsm_settings: Settings,
                                                        tmp_path: Path) -> None:
    initialise(hsm_settings, AT)
    p11 = hsm_settings.kek.pkcs11
    assert p11 is not None
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("0000")
    wrong.chmod(0o600)
    bad = replace(hsm_settings, kek=KekSettings(provider="pkcs11",
                                                pkcs11=replace(p11, pin_file=wrong)))
    with pytest.raises(KeyMaterialError, match="cannot log in to the PKCS#11 token"):
        open_ledger(bad)
    wrong.chmod(0o644)
    with pytest.raises(KeyMaterialError, match="is accessible to other users; chmod 600"):
        open_ledger(bad)
    other = replace(hsm_settings, kek=KekSettings(provider="pkcs11",
                                                  pkcs11=replace(p11, token="no-such")))
    with pytest.raises(KeyMaterialError, match="cannot reach the PKCS#11 token 'no-such'"):
        open_ledger(other)


# ----- a passphrase ----------------------------------------------------------------------

PASSPHRASE = b"correct horse battery staple"


def _fd(secret: bytes) -> int:
    read, write = os.pipe()
    os.write(write, secret + b"\n")
    os.close(write)
    return read


def _sealed(s: Settings, secret: bytes) -> Settings:
    return replace(s, kek=KekSettings(provider="passphrase", passphrase_fd=_fd(secret)))


def test_a_store_under_a_passphrase(tmp_path: Path) -> None:
    gen = make_settings(tmp_path, "sqlite")
    base = next(gen)
    initialise(_sealed(base, PASSPHRASE), AT)
    sealed_file = base.main.kek_file.with_name("main.kek.sealed")
    body = json.loads(sealed_file.read_text())
    assert (body["format"], body["n"], body["r"], body["p"]) == (
        "ledger-sealed-kek-1", 2**17, 8, 1)
    assert oct(sealed_file.stat().st_mode & 0o777) == "0o600"
    assert not base.main.kek_file.exists()
    with open_ledger(_sealed(base, PASSPHRASE)) as lg:
        seed(lg)
        notes = notes_for(lg, 2)
        lg.keys.rotate("main", at=AT)
        lg.keys.retire("main", 1, at=AT)
    assert not sealed_file.exists()
    with open_ledger(_sealed(base, PASSPHRASE)) as lg:
        read_all(lg, notes)
    with pytest.raises(KeyMaterialError, match="the passphrase does not open key file"):
        open_ledger(_sealed(base, b"not the passphrase at all"))
    # The insider lowers scrypt's cost in the file: the key it derives opens nothing.
    v2 = base.main.kek_file.with_name("main.v2.kek.sealed")
    body = json.loads(v2.read_text())
    v2.write_text(json.dumps({**body, "n": 2**10}))
    with pytest.raises(KeyMaterialError, match="the passphrase does not open key file"):
        open_ledger(_sealed(base, PASSPHRASE))
    v2.write_text(json.dumps({**body, "n": 2**40}))
    with pytest.raises(KeyMaterialError, match="scrypt parameters out of range"):
        open_ledger(_sealed(base, PASSPHRASE))
    next(gen, None)


def test_a_passphrase_is_never_taken_from_the_environment_and_needs_a_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInput, match="LEDGER_KEK_PASSPHRASE is never read"):
        load_settings(str(tmp_path), environ={"LEDGER_KEK_PASSPHRASE": "hunter2hunter2"})
    s = load_settings(str(tmp_path), environ={"LEDGER_KEK_PROVIDER": "passphrase"})
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(KeyMaterialError, match="give it on a file descriptor"):
        initialise(s, AT)
    with pytest.raises(KeyMaterialError, match="at least 12 characters"):
        initialise(_sealed(s, b"short"), AT)
    with pytest.raises(NotInitialised, match="no key-encryption key version 1"):
        open_ledger(_sealed(s, PASSPHRASE))


@pytest.mark.parametrize(("environ", "message"), [
    ({"LEDGER_KEK_PROVIDER": "vault"}, "must be one of file, passphrase, pkcs11"),
    ({"LEDGER_KEK_PROVIDER": "pkcs11"}, "LEDGER_KEK_PROVIDER=pkcs11 needs"),
    ({"LEDGER_PKCS11_MODULE": "/x.so"}, "go together: set all three"),
    ({"LEDGER_KEK_PASSPHRASE_FD": "-1"}, "must be a file descriptor number"),
    ({"LEDGER_BACKUP_RETENTION_DAYS": "0"}, "must be 1 to 3660 days"),
    ({"LEDGER_BACKUP_RETENTION_DAYS": "x"}, "must be 1 to 3660 days"),
])
def test_bad_provider_settings_are_one_line(tmp_path: Path, environ: dict[str, str],
                                            message: str) -> None:
    with pytest.raises(BadInput, match=message):
        load_settings(str(tmp_path), environ=environ)


def test_init_and_keys_in_real_processes_with_a_token(token: Pkcs11Settings,
                                                      tmp_path: Path) -> None:
    """The operator's way: settings in the environment, the PIN in its file; init twice
    keeps the token's key; the commands open the token in each process."""
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update({"LEDGER_DATA_DIR": str(tmp_path / "d"), "LEDGER_KEK_PROVIDER": "pkcs11",
                "LEDGER_PKCS11_MODULE": str(token.module),
                "LEDGER_PKCS11_TOKEN": token.token,
                "LEDGER_PKCS11_PIN_FILE": str(token.pin_file)})

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", *args], text=True,
                              capture_output=True, env=env, cwd=root, timeout=120,
                              check=False)

    first = cli("init")
    assert first.returncode == 0, first.stderr
    assert "created key-encryption key for the main store" in first.stdout
    again = cli("init")
    assert again.returncode == 0 and "created key-encryption key" not in again.stdout
    assert cli("staff", "add", "--id", "a", "--name", "A", "--role", "admin").returncode == 0
    rotated = cli("keys", "rotate", "--store", "pn")
    assert rotated.returncode == 0, rotated.stderr
    status = json.loads(cli("keys", "status", "--json").stdout)
    assert [(s["store"], s["version"], s["provider"]) for s in status] == [
        ("main", 1, "pkcs11"), ("pn", 1, "pkcs11"), ("pn", 2, "pkcs11")]
    assert cli("verify").returncode == 0
    assert PIN not in first.stdout + first.stderr + rotated.stdout + rotated.stderr
    env["LEDGER_PKCS11_PIN_FILE"] = str(tmp_path / "nowhere")
    r = cli("staff", "list")
    assert (r.returncode, r.stderr) == (
        1, f"error: the PKCS#11 PIN file {tmp_path / 'nowhere'} does not exist\n")


def test_a_store_moves_from_key_files_into_a_token_by_rotation(
        hsm_settings: Settings) -> None:
    """Made with key files; LEDGER_KEK_PROVIDER=pkcs11 then rotate: version 2 is in the
    token, version 1 still read from its file until it is retired; then the file is gone
    and the store opens from the token alone."""
    files = replace(hsm_settings, kek=KekSettings())
    initialise(files, AT)
    with open_ledger(files) as lg:
        seed(lg)
        notes = notes_for(lg, 2)
    with open_ledger(hsm_settings) as lg:
        read_all(lg, notes)  # version 1, by the file provider it was made with
        lg.keys.rotate("main", at=AT)
        assert [(e.version, e.provider) for e in lg.keys.status("main")] == [
            (1, "file"), (2, "pkcs11")]
        lg.keys.retire("main", 1, at=AT)
    assert not hsm_settings.main.kek_file.exists()
    with open_ledger(hsm_settings) as lg:
        read_all(lg, notes)
