"""The one exception type users see: a single line saying what is wrong and how to fix it."""


class OptlabError(Exception):
    """A user-facing problem (bad flag, missing data); scripts print it as one line and exit 2."""
