"""Text that came from outside, as output may show it: on one line, escaped, bounded.

Ids are validated where they enter (:mod:`ledger.identifiers`), but free text (reasons,
recipients, matters, names) and values recorded before validation are not: every text
output and every error message passes them through :func:`escape`, so nothing a person
typed can forge a line or a column, or stop the output with an undecodable character.
"""

from __future__ import annotations

SHOWN_CHARS = 80  # how much of a value an error message repeats


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as an error message may repeat it: quoted, every control, non-printable
    or undecodable character escaped, and cut to ``limit`` characters."""
    text = str(value)
    cut = len(text) > limit
    return "'" + escape(text[:limit]) + ("'..." if cut else "'")


def escape(text: str, *, backslash: bool = True) -> str:
    """``text`` as one line: a backslash, a tab, a newline or any other control or
    non-printable character (an invalid byte of a command-line argument included) is
    written as its escape, so a value can never forge a line or a column. Without
    ``backslash``, a backslash stays as it is (for a message whose values were escaped
    already)."""
    return "".join(ch if ch.isprintable() and (ch != "\\" or not backslash)
                   else _escaped(ch) for ch in text)


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
