"""mailbox: the local runtime's stand-in for Mailpit (an SMTP sink with Mailpit's API v1 subset).

It exists only because the local runtime runs without Docker; the compose runtime uses the real
Mailpit. See docs/mailbox.md for the API subset and its limits.
"""
