"""The book's user-facing errors: one line that says what was wrong, what is allowed, what to do.

Command lines catch :class:`BookError` and print ``error: <message>`` with exit status 2, writing nothing.
"""


class BookError(Exception):
    """A problem the reader can fix (bad name, missing file, bad value); the message is one line."""


class UnknownNameError(BookError, KeyError):
    """A backbone, dataset or profile name that is not registered."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class DataError(BookError):
    """A dataset that is missing, malformed, or has a corrupt file (the message names the path)."""


class WeightsError(BookError):
    """Pretrained weights that were requested but are missing, corrupt or do not match."""


class ConfigError(BookError, ValueError):
    """A parameter outside its allowed range or of the wrong type."""


def printable(text: str) -> str:
    """``text`` as one printable line: control characters (a newline in a file name) become escapes such as
    ``\\n``, and the bytes of a file name that is not UTF-8 become ``\\xNN``."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:   # a lone surrogate that no file name produced
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def one_line(err: BaseException) -> str:
    """An error message as one printable line, for command-line output.

    A BookError is one line by contract, so a line break in it came from a name it quotes (an image called
    ``a\\nb.png``) and is shown escaped rather than cutting the message short; other errors keep their first line.
    """
    text = str(err).strip()
    if not text:
        return type(err).__name__
    return printable(text if isinstance(err, BookError) else text.splitlines()[0])
