"""Quoted-printable pieces that can be encoded apart and joined with soft line breaks.

A newsletter body is encoded once per newsletter, in pieces around the personal values; a
recipient's body is those pieces and their own few values, joined. Each piece is valid
quoted-printable on its own (UTF-8, CRLF, lines of at most 76 characters, no line starting with
``.`` or ``From ``), and ``join`` puts a soft line break (``=`` CRLF) between pieces, which
decodes to nothing, so the joined body decodes to the pieces' text concatenated.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable

MAX_LINE = 76
SOFT_BREAK = b"=\r\n"


def _fix_line(line: bytes) -> list[bytes]:
    """Encode a leading ``.`` or ``From `` (SMTP dot-stuffing and mbox quoting leave it alone)."""
    pieces = []
    while line.startswith((b".", b"From ")):
        line = (b"=2E" if line[:1] == b"." else b"=46") + line[1:]
        if len(line) <= MAX_LINE:
            break
        cut = MAX_LINE - 1
        if line[cut - 1 : cut] == b"=":
            cut -= 1
        elif line[cut - 2 : cut - 1] == b"=":
            cut -= 2
        pieces.append(line[:cut] + b"=")
        line = line[cut:]
    pieces.append(line)
    return pieces


def encode(text: str) -> bytes:
    """One piece: ``text`` as quoted-printable with CRLF line ends ("" for "")."""
    if not text:
        return b""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8", "replace")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    if encoded.startswith((b".", b"From ")) or b"\n." in encoded or b"\nFrom " in encoded:
        encoded = b"\n".join(piece for line in encoded.split(b"\n") for piece in _fix_line(line))
    return encoded.replace(b"\n", b"\r\n")


def _room_for_break(piece: bytes) -> bytes:
    """Make room for the ``=`` of a soft break after the piece's last line."""
    last = piece[piece.rfind(b"\n") + 1 :]
    if len(last) < MAX_LINE:
        return piece
    size = 3 if last[-3:-2] == b"=" else 1  # the last atom: an escape or one character
    atom = piece[-size:]
    return piece[:-size] + SOFT_BREAK + (b"=2E" if atom == b"." else atom)


def join(pieces: Iterable[bytes]) -> bytes:
    """Encoded pieces as one body."""
    present = [piece for piece in pieces if piece]
    return SOFT_BREAK.join([_room_for_break(piece) for piece in present[:-1]] + present[-1:])
