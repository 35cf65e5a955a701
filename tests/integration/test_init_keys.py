"""initialise() on SQLite and PostgreSQL: a store that holds data is found without its
key, so no key is made that could not open it."""

from __future__ import annotations

import pytest

from ledger.bootstrap import initialise
from ledger.errors import KeyMaterialError
from ledger.settings import Settings
from ledger.stores.probe import holds_data
from tests.conftest import AT


def test_a_store_with_data_is_never_given_a_new_kek(settings: Settings) -> None:
    assert holds_data(settings.main) and holds_data(settings.pn)  # init made the audit keys
    settings.pn.kek_file.unlink()
    with pytest.raises(KeyMaterialError, match=r"^the psychotherapy store already holds data "
                       r"but its key-encryption key .*psychotherapy\.kek is missing"):
        initialise(settings, AT)
    assert not settings.pn.kek_file.exists()
