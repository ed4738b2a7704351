"""Error types shared by the library modules and the west commands.

A library function raises one of these with a message that names the file
and the problem; the command turns it into a one-line error and the exit
code below, so scripts can rely on the code.
"""


class H7Error(Exception):
    """Base class: the message is shown as-is, without a traceback."""

    exit_code = 2


class InputError(H7Error):
    """The input cannot be used at all (missing, unreadable, wrong format)."""

    exit_code = 2


class CheckFailed(H7Error):
    """The input was read, and a rule it must satisfy does not hold."""

    exit_code = 1
