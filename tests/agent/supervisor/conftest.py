"""Fixtures for supervisor tests (namespaces from tests.support.namespaces)."""
