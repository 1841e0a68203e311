"""Short display strings for tokens: spaces, newlines and stray UTF-8 bytes made visible.

A BPE token is a run of bytes, and that run need not be whole characters: '€' is three bytes
(E2 82 AC) and a token may hold only the first. Such bytes are shown as '<0xE2>'. Whitespace and
control characters are drawn with visible stand-ins, so ' the' reads '␣the' on an axis tick.
"""

from __future__ import annotations

import unicodedata

# Labels longer than this are cut and end in '…' (unless the caller asks for the full label).
MAX_LABEL_CHARS = 12

# Characters that would be invisible, or would break an axis tick, and what to draw instead.
VISIBLE_STAND_INS = {
    " ": "␣",  # an open box, never mistaken for "." or "·" in a list of tokens (before, "·" was drawn)
    "\n": "↵",
    "\t": "⇥",
    "\r": "␍",
}


def unmark_spaces(text: str) -> str:
    """A label (or what a learner typed after reading one) with its space marks back as spaces: "␣the"
    -> " the"; the older mark "·" too, so lesson files written with it still match."""
    return text.replace(VISIBLE_STAND_INS[" "], " ").replace("·", " ")


def label_char(char: str) -> str:
    """One character as a learner should see it."""
    if char in VISIBLE_STAND_INS:
        return VISIBLE_STAND_INS[char]
    code = ord(char)
    if code < 0x20:  # other C0 control characters: Unicode's "control pictures" (␀, ␁, ...)
        return chr(0x2400 + code)
    if code == 0x7F:
        return "␡"
    # Other invisible characters (non-breaking spaces, zero-width marks, lone surrogates, ...).
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"):
        return f"<U+{code:04X}>"
    return char


def label_text(text: str, full: bool = False) -> str:
    """A whole string as a label, cut to MAX_LABEL_CHARS with '…' unless `full`."""
    return _join_shortened([label_char(char) for char in text], full)


def label_bytes(data: bytes, full: bool = False) -> str:
    """Bytes as a label: whole UTF-8 characters as text, any other byte as '<0xNN>'."""
    pieces = []
    for piece in split_utf8(data):
        if isinstance(piece, str):
            pieces.extend(label_char(char) for char in piece)
        else:
            pieces.append(f"<0x{piece:02X}>")
    return _join_shortened(pieces, full)


def split_utf8(data: bytes) -> list[str | int]:
    """Split bytes into runs of valid UTF-8 (as str) and the single bytes between them (as int)."""
    pieces: list[str | int] = []
    while data:
        try:
            pieces.append(data.decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            if error.start:
                pieces.append(data[: error.start].decode("utf-8"))
            pieces.extend(data[error.start : error.end])  # iterating bytes gives ints
            data = data[error.end :]
    return pieces


def _join_shortened(pieces: list[str], full: bool) -> str:
    """Join the labels of characters/bytes; if too long, keep whole pieces that fit and add '…'."""
    label = "".join(pieces)
    if full or len(label) <= MAX_LABEL_CHARS:
        return label
    kept = ""
    for piece in pieces:  # never cut a '<0xE2>' or '<U+00A0>' in half
        if len(kept) + len(piece) > MAX_LABEL_CHARS - 1:
            break
        kept += piece
    return kept + "…"
