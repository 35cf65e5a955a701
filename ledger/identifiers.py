"""The identifiers people type, and their one pattern each: staff ids, client references
and codes. Checked where they enter (each service, and the CLI where it is cheap), so a
malformed one is bad input and is never stored; a well-formed one that names nobody is
the services' business (an unknown staff id is a recorded refusal).

- staff id and client reference: 1 to 64 characters, letters, digits and ``. _ @ -``,
  starting with a letter or digit (``dr-lee``, ``C-1001``, ``ann.lee@clinic``);
- code (purposes, exception codes, states, license and facility types, rule ids, ...):
  1 to 64 characters, letters, digits and ``_ . -``, starting with a letter or digit.

No control character, space or non-ASCII letter gets through, so an id can never forge
a line or a column of a report, and every read model's column holds the longest one.
"""

from __future__ import annotations

import re

from ledger.display import shown
from ledger.errors import BadInput

MAX_ID = 64
STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
CLIENT_REF = STAFF_ID
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_ID_RULE = f"1 to {MAX_ID} letters, digits and . _ @ -, starting with a letter or digit"
_CODE_RULE = f"1 to {MAX_ID} letters, digits and _ . -, starting with a letter or digit"


def check_staff_id(value: str, what: str = "a staff id") -> str:
    """``value`` if it is a well-formed staff id, else BadInput (the value is not echoed:
    it may be anything)."""
    if not isinstance(value, str) or not STAFF_ID.fullmatch(value):
        raise BadInput(f"{what} must be {_ID_RULE}")
    return value


def check_client_ref(value: str, what: str = "a client id") -> str:
    """``value`` if it is a well-formed client reference, else BadInput (not echoed: a
    mistyped reference could be a name)."""
    if not isinstance(value, str) or not CLIENT_REF.fullmatch(value):
        raise BadInput(f"{what} must be {_ID_RULE}")
    return value


def check_code(value: str, what: str) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise BadInput(f"{what} must be {_CODE_RULE}; got {shown(value)}")
    return value
