"""The one error tree of the harness. Every error says what was wrong and how to fix it."""


class StackError(Exception):
    """Something the user can fix: the message names the bad key or value and the fix."""


class ConfigError(StackError):
    """A definition file (topology, retention policy) failed validation."""


class SecretsError(StackError):
    """`.stack/secrets` is missing, incomplete or corrupt."""


class PortInUseError(StackError):
    """A port the stack needs is held by another process."""


class ComponentFailed(StackError):
    """A component did not become healthy; the message carries its log tail."""


class RuntimeUnavailable(StackError):
    """The chosen runtime cannot run here (e.g. no Docker engine answers)."""
