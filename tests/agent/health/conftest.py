"""Fixtures for health tests: real network namespaces (see tests.support.namespaces)."""

from tests.support.namespaces import isolated_httpd, named_netns_httpd

__all__ = ["isolated_httpd", "named_netns_httpd"]
