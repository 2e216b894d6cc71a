"""Encrypted, verified backups of the database and the evidence store, and their restore.

archive.py is the container (key derivation and the chunked AEAD stream), tables.py the
logical row format, snapshot.py the consistent read of each database kind, manifest.py
what an archive says about itself, create.py writes one, reader.py reads one back for
verify.py and restore.py.
"""
