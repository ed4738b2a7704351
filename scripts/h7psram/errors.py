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


def _short(name: object) -> str:
    text = str(name)
    return text if len(text) <= 80 else text[:60] + "..." + text[-16:]


def as_h7(err: BaseException) -> H7Error:
    """An H7Error as it is; an OSError (a path too long, a folder that does not exist, no
    permission) as the input error it is, in one line naming the file."""
    if isinstance(err, H7Error):
        return err
    if isinstance(err, OSError):
        import errno

        reason = "file name too long" if err.errno == errno.ENAMETOOLONG else (err.strerror or str(err))
        where = _short(err.filename) if err.filename is not None else "file system"
        return InputError(f"{where}: {reason}")
    raise TypeError(f"not a user error: {err!r}")


# What a command turns into one line and an exit code: `except USER_ERRORS as err: ... as_h7(err)`.
USER_ERRORS = (H7Error, OSError)
