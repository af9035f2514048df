"""The mailbox's errors: each says which flag or file is wrong and how to fix it."""


class MailboxError(Exception):
    """The mailbox cannot start as configured; the message names the flag or file."""


class PortTakenError(MailboxError):
    """A port the mailbox should listen on is held by another process."""
