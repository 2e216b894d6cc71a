"""Use-cases. They check access, call crypto and audit, and flush; the caller commits."""
