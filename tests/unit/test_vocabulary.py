"""The light code lists the front ends use agree with the tables that decide."""

from __future__ import annotations

from dataclasses import fields

from ledger import vocabulary
from ledger.rules import disclosure
from ledger.rules import retention as rules
from ledger.views import AccessRecord


def test_exception_codes_are_the_guards() -> None:
    assert tuple(disclosure.PN_EXCEPTIONS) == vocabulary.PN_EXCEPTION_CODES
    assert tuple(disclosure.RECORD_EXCEPTIONS) == vocabulary.RECORD_EXCEPTION_CODES


def test_access_log_fields_are_the_records() -> None:
    assert tuple(f.name for f in fields(AccessRecord)) == vocabulary.ACCESS_LOG_FIELDS


def test_licenses_and_facilities_cover_the_rules() -> None:
    used = {lic for r in rules.load() for lic in r.licenses} - {"any"}
    assert used <= set(vocabulary.LICENSES)
    assert {f for r in rules.load() for f in r.facilities} <= set(vocabulary.FACILITIES)
