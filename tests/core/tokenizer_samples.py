"""Texts that stress a tokenizer, shared by the tokenizer tests (imported, not collected)."""

import pydoc_data.topics

# ASCII, accents, CJK, emoji (with skin tones and joiners), code, whitespace runs, control characters.
VARIED_TEXTS = [
    "",
    "Hello world!",
    "héllo naïve café, Ærøskøbing, Ελληνικά, русский",
    "日本語のテキストと中文",
    "emoji 😀👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷",
    "def f(x):\n\treturn x ** 2  # square\n\n\n",
    "   leading and trailing   ",
    "\x00\x01\x1c\x1f\x7f bell\x07",
    "tabs\t\tand\r\nCRLF\r\n",
    "It's we'll they're I'd you've",
    "12345 3.14159 1e-9 0xFF",
    "\u00a0nbsp\u2028line separator\u3000ideographic space",
    "€ is three bytes and 𝔘 is four",
    " " * 17 + "\n" * 5,
]


def python_docs(n_chars: int) -> str:
    """English prose and code from the Python docs that ship with every Python install."""
    return "\n".join(pydoc_data.topics.topics.values())[:n_chars]
