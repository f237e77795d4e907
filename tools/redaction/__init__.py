"""Redaction of secrets customers type (cards, passwords, codes) in stored text and logs."""

from tools.redaction.secrets import RedactingFilter, contains_secret, install_log_redaction, redact

__all__ = [
    "RedactingFilter",
    "contains_secret",
    "install_log_redaction",
    "redact",
]
