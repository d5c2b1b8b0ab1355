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


def one_line(err: BaseException) -> str:
    """The first line of an error message, for command-line output."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
