"""The book's user-facing errors: one line that says what was wrong, what is allowed, what to do.

Command lines catch :class:`BookError` and print ``error: <message>`` with exit status 2, writing nothing.
"""
import contextlib


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM, raised where the program is, so that locks, temporary files and the random
    state are given back as the stack unwinds; a command line then says what was saved, in one line."""

    def __init__(self, signum: int = 2):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process ended by it: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        import signal

        return signal.Signals(self.signum).name


@contextlib.contextmanager
def signals_raise_interrupted():
    """Inside: SIGINT and SIGTERM raise :class:`Interrupted` (in the main thread; elsewhere nothing changes).

    For command lines only: library code leaves the process's signal handlers alone."""
    import signal
    import sys
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):   # a forked loader worker inherits it too: torch's worker loop ends quietly on it
        raise Interrupted(signum)

    # A signal that lands while Python runs a finaliser (a data loader shutting its workers down in __del__) raises
    # there, where Python can only print "Exception ignored" and go on: catch that, and stop when the block ends.
    swallowed, default_hook = [], sys.unraisablehook

    def unraisable(info):
        if isinstance(info.exc_value, Interrupted):
            swallowed.append(info.exc_value.signum)
        else:
            default_hook(info)

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    sys.unraisablehook = unraisable
    try:
        yield
        if swallowed:
            raise Interrupted(swallowed[0])
    finally:
        sys.unraisablehook = default_hook
        for sig, old in before.items():
            signal.signal(sig, old)


def interrupted(err: KeyboardInterrupt) -> Interrupted:
    """``err`` as an :class:`Interrupted` (a plain KeyboardInterrupt is Ctrl-C)."""
    return err if isinstance(err, Interrupted) else Interrupted(2)
