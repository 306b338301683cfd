"""Ids sort in the order they were made."""

from server import ids


def test_ids_made_in_one_millisecond_still_sort_in_creation_order() -> None:
    made = [ids.new_id("workspace") for _ in range(2000)]  # many share a millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.looks_like("workspace", value) for value in made)
