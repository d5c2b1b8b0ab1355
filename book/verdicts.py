"""The one vocabulary for a verdict on a claim of the paper, wherever it is checked: on the paper's own tables
(``book.findings``' Section 7 checks, the claims register of ``book.claims``, ``book.lowdata.keep_lead``) or on
this book's runs with the seeds' noise (``book.findings.our_claims``). Its own module because ``book.lowdata``,
which ``book.findings`` imports, gives verdicts too."""

SUPPORTED = "supported"
PARTLY_SUPPORTED = "partly supported"  # the check's lower threshold is met, not its upper one
NOT_SUPPORTED = "not supported"        # the numbers say otherwise
WITHIN_NOISE = "within noise"          # our runs only: the seeds' intervals allow it to hold and to fail
NOT_CHECKABLE = "not checkable"        # nothing here decides it (no such data, one seed, ...); the reason goes with it

VERDICTS = (SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_CHECKABLE)
