"""The catalog: validated at load, every error naming the entry and the key; the real one
covers every checklist item and every class of mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.checklist import load_checklist
from mutants.catalog import (
    CHECKLIST_FILE,
    MUTANT_CLASSES,
    Catalog,
    load_catalog,
    parse_catalog,
)
from mutants.errors import CatalogError

ITEMS = ["elk-logs-collected", "hc-health-endpoint"]


def entry(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "auth-health-checks-nothing",
        "item": "hc-health-endpoint",
        "class": "exists-not-works",
        "why": "auth's /health checks nothing, so it passes without a database.",
        "patch": "auth-health-checks-nothing.patch",
    }
    return {**base, **changes}


def parse(tmp_path: Path, *entries: dict[str, Any]) -> Catalog:
    for e in entries:
        if isinstance(e.get("patch"), str):
            (tmp_path / e["patch"]).write_text("diff\n")
    return parse_catalog(
        {"mutants": list(entries)}, source=tmp_path / "catalog.yaml", item_ids=ITEMS
    )


def test_a_valid_entry_loads_with_its_class_and_patch_path(tmp_path: Path) -> None:
    catalog = parse(tmp_path, entry())
    (mutant,) = catalog.mutants
    assert mutant.kind == "exists-not-works"
    assert catalog.patch_path(mutant) == tmp_path / "auth-health-checks-nothing.patch"


def test_an_unknown_item_is_refused_naming_the_entry_and_the_valid_ids(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as exc:
        parse(tmp_path, entry(item="hc-health-endpoints"))
    message = str(exc.value)
    assert "mutants[0] (auth-health-checks-nothing).item" in message
    assert "'hc-health-endpoints' is not a checklist id" in message
    assert "elk-logs-collected, hc-health-endpoint" in message


def test_an_unknown_class_names_the_entry_and_the_key(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as exc:
        parse(tmp_path, entry(**{"class": "lazy"}))
    assert "mutants[0] (auth-health-checks-nothing).class" in str(exc.value)
    assert "'lazy'" in str(exc.value)


def test_an_unknown_key_and_a_missing_key_are_refused(tmp_path: Path) -> None:
    bad = entry(points=3)
    del bad["why"]
    with pytest.raises(CatalogError) as exc:
        parse(tmp_path, bad)
    message = str(exc.value)
    assert "mutants[0] (auth-health-checks-nothing).points: Extra inputs" in message
    assert "mutants[0] (auth-health-checks-nothing).why: Field required" in message


def test_a_missing_patch_file_says_how_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as exc:
        parse_catalog(
            {"mutants": [entry()]}, source=tmp_path / "catalog.yaml", item_ids=ITEMS
        )
    assert "mutants[0] (auth-health-checks-nothing).patch" in str(exc.value)
    assert "git diff > mutants/<id>.patch" in str(exc.value)


def test_the_patch_is_named_after_the_id(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"must be named auth-health-checks-nothing\.patch"):
        parse(tmp_path, entry(patch="other.patch"))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"mutants\[1\] \(auth-health-checks-nothing\)\.id: "
                       r"duplicate of mutants\[0\]"):
        parse(tmp_path, entry(), entry())


def test_a_multi_line_why_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"\.why"):
        parse(tmp_path, entry(why="first line of the mistake\nsecond line"))


def test_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="expected a mapping with the key 'mutants'"):
        parse_catalog([1, 2], source=tmp_path / "catalog.yaml", item_ids=ITEMS)


def test_select_keeps_catalog_order_and_refuses_unknown_ids(tmp_path: Path) -> None:
    first, second = entry(), entry(id="auth-health-late", patch="auth-health-late.patch")
    catalog = parse(tmp_path, first, second)
    assert [m.id for m in catalog.select(["auth-health-late", first["id"]])] == [
        first["id"],
        "auth-health-late",
    ]
    assert len(catalog.select(None)) == 2
    with pytest.raises(CatalogError, match="unknown mutant"):
        catalog.select(["nope"])


def test_the_catalog_covers_every_checklist_item_and_every_class() -> None:
    catalog = load_catalog()
    assert len(catalog.mutants) >= 30
    assert {m.item for m in catalog.mutants} == set(load_checklist(CHECKLIST_FILE).ids)
    assert {m.kind for m in catalog.mutants} == set(MUTANT_CLASSES)
