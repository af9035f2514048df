"""logstore: the local runtime's single-node stand-in for Elasticsearch 8, on tantivy.

It serves the subset of the Elasticsearch REST API that the stack uses (see docs/logstore.md).
"""
