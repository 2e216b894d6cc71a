"""Crash safety: the real `incidents` command killed (SIGKILL) at seeded points, then the
database and the evidence store checked and the command run again."""
