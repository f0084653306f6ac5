"""How a failure is recorded: one line for the tables, a traceback tail for the JSON."""
import traceback


def error_text(exc):
    """One line naming the exception."""
    return f"{type(exc).__name__}: {exc}".strip()


def error_tail(exc, lines=6):
    """The last lines of the traceback, enough to locate a failure from the JSON alone."""
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(tb).strip().splitlines()[-lines:]
