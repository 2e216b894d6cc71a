"""The audit log. Imports nothing from Flask."""
