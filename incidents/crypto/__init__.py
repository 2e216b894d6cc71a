"""Keys, providers and AEAD envelope encryption. Imports nothing from Flask."""
