"""What logstore claims, as the conformance run counts it: the one list of the test files (or
single tests) that exercise a feature logstore declines, each with that feature's name.

Every vendored directory is an API logstore serves. Inside them, some files test a feature of
that API which a single-node stand-in for log search does not offer (field collapsing, span and
interval queries, geo fields, pipeline aggregations, ...). Their tests still run. A declined
test counts as `declined` only when it fails at a request logstore refuses with an
Elasticsearch-shaped error (`{"error": {"type", "reason"}, "status"}`, status 4xx): the honest
answer for a feature it does not have. Any other failure of a declined test (a 2xx with a
wrong answer, a plain-text error) counts as `failed`, like any other test's.

docs/logstore.md lists these features under "Conformance"; keep the two in step.
"""

from __future__ import annotations

# "dir/file.yml" declines the whole file; "dir/file.yml::test name" one test of it.
DECLINED: dict[str, str] = {
    # search: request features
    "search/110_field_collapsing.yml": "field collapsing (`collapse`)",
    "search/115_multiple_field_collapsing.yml": "field collapsing (`collapse`)",
    "search/210_rescore_explain.yml": "`rescore`",
    "search/120_batch_reduce_size.yml": "batched reduce across shards (one shard per index)",
    "search/140_pre_filter_search_shards.yml": "the pre-filter shard phase (one shard per index)",
    # search: queries
    "search/230_interval_query.yml": "the `intervals` query",
    "search/250_distance_feature.yml": "the `distance_feature` query and `geo_point`",
    "search/310_match_bool_prefix.yml": "the `match_bool_prefix` query",
    "search/190_index_prefix_search.yml": "`index_prefixes` and span queries",
    "search/320_disallow_queries.yml": "`search.allow_expensive_queries` and `nested` fields",
    # search.aggregation
    "search.aggregation/230_composite.yml": "the `composite` aggregation",
    "search.aggregation/30_sig_terms.yml": "the `significant_terms` aggregation",
    "search.aggregation/90_sig_text.yml": "the `significant_text` aggregation",
    "search.aggregation/340_geo_distance.yml": "the `geo_distance` aggregation",
    "search.aggregation/350_variable_width_histogram.yml": (
        "the `variable_width_histogram` aggregation"
    ),
    "search.aggregation/200_top_hits_metric.yml": "`nested` fields",
    "search.aggregation/190_percentiles_hdr_metric.yml::Negative values test": (
        "`hdr` percentiles of negative values"
    ),
    "search.aggregation/300_pipeline.yml::Top level bucket_sort": (
        "the `bucket_sort` pipeline aggregation"
    ),
    "search.aggregation/360_date_histogram.yml": "range field types (`date_range`)",
    # index administration
    "indices.create/10_basic.yml::Create index with aliases": "filtered and routed aliases",
    "indices.put_index_template/15_composition.yml::Component and index template composition": (
        "filtered and routed aliases"
    ),
    "indices.put_index_template/15_composition.yml::Index template mapping merging": (
        "`nested` fields"
    ),
    # documents
    "create/70_nested.yml": "`nested` fields",
    "msearch/20_typed_keys.yml": "the `completion` suggester",
}


def declined_feature(relative_file: str, test_name: str) -> str | None:
    """The feature a test exercises that logstore declines, or None when it is claimed."""
    return DECLINED.get(f"{relative_file}::{test_name}") or DECLINED.get(relative_file)
