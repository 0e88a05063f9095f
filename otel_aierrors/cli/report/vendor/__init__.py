"""Vendored third-party files inlined into the report (see README.md beside this file)."""
