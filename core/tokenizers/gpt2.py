"""GPT-2's own tokenizer, read from files on disk (never from the network).

Two file formats are understood:
- Hugging Face's `vocab.json` + `merges.txt`. vocab.json spells every token's bytes as printable
  characters (GPT-2's "byte-to-unicode" table: byte 32, a space, is written 'Ġ'), so those spellings
  are turned back into bytes to get tiktoken's ranks; merges.txt is read to check the merge order.
- tiktoken's `*.tiktoken` ranks file: one "base64-of-the-bytes rank" per line.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from core.files.text_files import check_is_file, missing_file_sentence
from core.tokenizers.byte_level import ByteLevelTokenizer
from core.tokenizers.pretokenize import GPT2_PATTERN

END_OF_TEXT = "<|endoftext|>"
# No tokenizer has more tokens than this (the largest real ones have about 260,000); tiktoken keeps ids as
# 32-bit numbers, so a larger id would otherwise end in an OverflowError.
MAX_TOKEN_ID = 2**24 - 1
# GPT-2's vocab.json is 1 MB, the largest real *.tiktoken files about 4 MB.
MAX_TOKENIZER_FILE_BYTES = 64 * 2**20
EXPECTED_FILES = (
    "vocab.json and merges.txt (as in a Hugging Face GPT-2 folder), or a *.tiktoken ranks file "
    "(GPT-2's is r50k_base.tiktoken)"
)


class GPT2Tokenizer(ByteLevelTokenizer):
    """GPT-2's byte-level BPE. `<|endoftext|>` (id 50256 in real GPT-2) decodes, but is never produced by encode."""

    kind = "gpt2"

    def __init__(self, folder: Path, ranks: dict[bytes, int], end_of_text_id: int) -> None:
        self.folder = folder
        self.end_of_text_id = end_of_text_id  # the id of <|endoftext|>
        super().__init__("gpt2-local", GPT2_PATTERN, ranks, special_tokens={END_OF_TEXT: end_of_text_id})

    def to_json(self) -> dict:
        # The vocabulary is not copied (it is large): the JSON points at the folder it came from.
        return {"type": self.kind, "folder": str(self.folder)}

    @classmethod
    def from_json(cls, data: dict) -> GPT2Tokenizer:
        folder = data.get("folder")
        if not isinstance(folder, str):
            raise ValueError('A "gpt2" tokenizer needs "folder": the folder holding GPT-2\'s tokenizer files.')
        return load_gpt2_tokenizer(folder)


def load_gpt2_tokenizer(folder: str | Path) -> GPT2Tokenizer:
    """GPT-2's tokenizer from the files in `folder` (see the module docstring for which)."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder. Point at a folder holding {EXPECTED_FILES}.")
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    if vocab_file.is_file() or merges_file.is_file():
        for path in (vocab_file, merges_file):
            if not path.is_file():
                raise ValueError(
                    missing_file_sentence(
                        path, f"{path} is missing: GPT-2's tokenizer needs both vocab.json and merges.txt."
                    )
                )
        ranks, end_of_text_id = read_vocab_json(vocab_file)
        check_merge_order(merges_file, ranks)
    else:
        tiktoken_files = sorted(folder.glob("*.tiktoken"))
        if not tiktoken_files:
            raise ValueError(f"No GPT-2 tokenizer files in {folder}: expected {EXPECTED_FILES}.")
        ranks = read_tiktoken_file(tiktoken_files[0])
        end_of_text_id = max(ranks.values()) + 1  # where tiktoken's own gpt2 encoding puts it
    check_all_bytes_present(ranks, vocab_file if vocab_file.is_file() else folder)
    return GPT2Tokenizer(folder, ranks, end_of_text_id)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from each byte to a printable character that stands for it in vocab.json.

    Printable bytes stand for themselves; the other 68 (space, control bytes, ...) are given the
    characters from U+0100 onwards, in byte order. So byte 32 (space) is 'Ġ' and 10 (newline) is 'Ċ'.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    next_char = 256
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(next_char)
            next_char += 1
    return table


def unicode_to_byte() -> dict[str, int]:
    """The inverse of bytes_to_unicode: vocab.json's characters back to the bytes they stand for."""
    return {char: byte for byte, char in bytes_to_unicode().items()}


def read_vocab_json(path: Path) -> tuple[dict[bytes, int], int]:
    """Token bytes -> id from vocab.json, and the id of <|endoftext|>."""
    vocab = _read_json_object(path)
    byte_of = unicode_to_byte()
    if END_OF_TEXT not in vocab:
        raise ValueError(f"{path} has no {END_OF_TEXT!r} entry; GPT-2's vocab.json always holds it.")
    ranks: dict[bytes, int] = {}
    for spelling, token_id in vocab.items():
        if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
            raise ValueError(f"{path}: the id of {spelling!r} must be a whole number ≥ 0, not {token_id!r}.")
        check_token_id(token_id, f"{path}: the id of {spelling!r:.40}")
        if spelling == END_OF_TEXT:
            continue
        try:
            token = bytes(byte_of[char] for char in spelling)
        except KeyError as error:
            raise ValueError(
                f"{path}: token {spelling!r} contains {error.args[0]!r}, which is not one of GPT-2's "
                f"byte characters. Is this a byte-level BPE vocabulary?"
            ) from None
        if token in ranks:
            raise ValueError(f"{path}: two entries spell the bytes {token!r}; each token must be different.")
        ranks[token] = token_id
    end_of_text_id = vocab[END_OF_TEXT]
    if end_of_text_id in ranks.values() or len(set(ranks.values())) != len(ranks):
        raise ValueError(f"{path}: two tokens share one id; every id must belong to exactly one token.")
    return ranks, end_of_text_id


def check_merge_order(path: Path, ranks: dict[bytes, int]) -> None:
    """tiktoken merges in the order of the merged tokens' ids, so merges.txt must list them in that order."""
    byte_of = unicode_to_byte()
    made_ids: set[int] = set()  # ids created by the merges read so far
    latest_id = -1  # the largest of them
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip() or (line_number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"{path}, line {line_number}: expected two tokens separated by one space, got {line!r}.")
        try:
            merged = bytes(byte_of[char] for char in parts[0] + parts[1])
        except KeyError as error:
            raise ValueError(f"{path}, line {line_number}: {error.args[0]!r} is not a GPT-2 byte character.") from None
        if merged not in ranks:
            raise ValueError(f"{path}, line {line_number}: the merge {line!r} makes a token vocab.json lacks.")
        token_id = ranks[merged]
        # A merge that spells a token an earlier merge made adds nothing new; any other must make a larger id.
        if token_id not in made_ids and token_id < latest_id:
            raise ValueError(
                f"{path}, line {line_number}: this merge makes id {token_id}, but an earlier line made id "
                f"{latest_id}. tiktoken needs merges listed in the order of the ids they create."
            )
        made_ids.add(token_id)
        latest_id = max(latest_id, token_id)


def read_tiktoken_file(path: Path) -> dict[bytes, int]:
    """A tiktoken ranks file: every line is "<token bytes in base64> <rank>"."""
    ranks: dict[bytes, int] = {}
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            token, rank = base64.b64decode(parts[0], validate=True), int(parts[1])
            if rank < 0:
                raise ValueError
        except (ValueError, binascii.Error):
            raise ValueError(
                f"{path}, line {line_number}: expected '<token in base64> <rank>', got {line[:60]!r}."
            ) from None
        check_token_id(rank, f"{path}, line {line_number}: the rank")
        ranks[token] = rank
    if not ranks:
        raise ValueError(f"{path} is empty; a .tiktoken file lists one '<token in base64> <rank>' per line.")
    if len(set(ranks.values())) != len(ranks):
        raise ValueError(f"{path}: two tokens share one rank; every rank must belong to exactly one token.")
    return ranks


def check_token_id(token_id: int, where: str) -> None:
    if token_id > MAX_TOKEN_ID:
        raise ValueError(
            f"{where} is {token_id:,}, beyond any vocabulary (ids go up to {MAX_TOKEN_ID:,}); "
            "the file is damaged or is not a tokenizer file."
        )


def check_all_bytes_present(ranks: dict[bytes, int], source: Path) -> None:
    missing = [byte for byte in range(256) if bytes([byte]) not in ranks]
    if missing:
        raise ValueError(
            f"{source}: the vocabulary lacks {len(missing)} single-byte tokens (first 0x{missing[0]:02X}); "
            f"a byte-level tokenizer needs all 256 so that any text can be encoded."
        )


def _read_json_object(path: Path) -> dict:
    try:
        data = json.loads(_read_text(path))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); expected GPT-2's vocab.json.") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} should hold one JSON object mapping token strings to ids.")
    return data


def _read_text(path: Path) -> str:
    """The file's text, once it is known to be an ordinary file of a tokenizer file's size."""
    check_is_file(path, f"{path} is missing; expected {EXPECTED_FILES}.")
    size = path.stat().st_size
    if size > MAX_TOKENIZER_FILE_BYTES:
        raise ValueError(
            f"{path} is {size:,} bytes, far larger than any tokenizer file "
            f"(GPT-2's vocab.json is about 1 MB); it is not one."
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; expected GPT-2's tokenizer files.") from None
