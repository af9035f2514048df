from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import GraderError, TargetError
from grader.visibility import (
    VisibilityOverrides,
    VisibilitySettings,
    check_ids,
    parse_overrides,
    resolve,
)

IDS = ["a-one", "a-two", "b-one"]


def test_overrides_take_a_default_and_item_levels() -> None:
    assert parse_overrides([]) == VisibilityOverrides()
    parsed = parse_overrides(["hidden", "a-one=visible", " b-one = after_published "])
    assert parsed.default == "hidden"
    assert parsed.items == {"a-one": "visible", "b-one": "after_published"}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("secret", "--visibility secret: unknown level 'secret'; use one of visible, hidden, "
                   "after_due_date, after_published"),
        ("a-one=later", "--visibility a-one=later: unknown level 'later'"),
        ("=hidden", "--visibility =hidden: name the checklist id before '='"),
    ],
)  # fmt: skip
def test_a_bad_override_names_itself(option: str, message: str) -> None:
    with pytest.raises(GraderError) as err:
        parse_overrides([option])
    assert str(err.value).startswith(message)


def test_the_most_specific_setting_wins() -> None:
    profile = VisibilitySettings(
        default="after_due_date", items={"a-one": "hidden", "a-two": "hidden"}
    )
    assert resolve(IDS, profile, VisibilityOverrides()) == {
        "a-one": "hidden", "a-two": "hidden", "b-one": "after_due_date",
    }  # fmt: skip
    flag = VisibilityOverrides(default="visible", items={"a-two": "after_published"})
    assert resolve(IDS, profile, flag) == {
        "a-one": "hidden", "a-two": "after_published", "b-one": "visible",
    }  # fmt: skip
    defaults = resolve(IDS, VisibilitySettings(), VisibilityOverrides())
    assert defaults == dict.fromkeys(IDS, "visible")


def test_unknown_ids_are_refused_naming_the_id_and_where() -> None:
    with pytest.raises(TargetError) as err:
        check_ids(
            VisibilitySettings(items={"a-three": "hidden"}),
            VisibilityOverrides(),
            valid=IDS,
            source=str(Path("t.yaml")),
        )
    assert str(err.value) == (
        "t.yaml: grading.visibility.items: unknown checklist id 'a-three'; "
        "valid ids: a-one, a-two, b-one"
    )
    with pytest.raises(GraderError, match=r"--visibility a-nine=\.\.\.: unknown checklist id"):
        check_ids(
            VisibilitySettings(),
            VisibilityOverrides(items={"a-nine": "hidden"}),
            valid=IDS,
            source="t.yaml",
        )
