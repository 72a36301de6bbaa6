//! Elasticsearch index mappings.
