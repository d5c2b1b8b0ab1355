"""Chapter parameters: a papermill int, float, list or comma text is accepted wherever it means the same thing;
anything else, an out-of-range value or an unknown parameter fails with one line naming it (issues 27 and 30)."""
from __future__ import annotations

import pytest

from book import build, chapter, parameters
from lib.errors import ConfigError

CHAPTERS = [nb.stem for nb in chapter.chapters()]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_declares_typed_parameters_with_valid_defaults(chapter):
    from book import chapter as chapter_lib

    spec = parameters.declared(chapter_lib.parameter_source(chapter))
    assert spec and all(item.kind in ("str", "int", "float", "bool", "list") for item in spec.values())
    assert parameters.check(chapter, {}, injected=[]) == {n: item.default for n, item in spec.items()}


@pytest.mark.parametrize("kind, given, expected", [
    ("str", 0, "0"), ("str", [0, 1, 2], "0,1,2"), ("str", 0.1, "0.1"), ("str", 1.0, "1"), ("str", "a,b", "a,b"),
    ("int", 3, 3), ("int", 3.0, 3), ("int", "4", 4), ("float", 1, 1.0), ("float", "0.25", 0.25),
    ("list", "resnet50,swin_t", ["resnet50", "swin_t"]), ("list", ["x"], ["x"]), ("list", 5, [5]), ("list", "", []),
    ("bool", True, True), ("bool", "false", False), ("bool", 1, True)])
def test_papermill_values_mean_the_same_thing(kind, given, expected):
    assert parameters.coerce(kind, given) == expected


@pytest.mark.parametrize("kind, given", [("int", 2.5), ("int", "many"), ("float", "fast"), ("bool", "maybe"),
                                          ("str", True), ("int", True), ("list", {"a": 1}), ("bool", 2)])
def test_values_that_mean_something_else_are_refused(kind, given):
    with pytest.raises((TypeError, ValueError)):
        parameters.coerce(kind, given)


def test_seeds_zero_is_a_value_not_unset():
    """`-p seeds 0` injects the integer 0: it must read as the seed 0, not as "empty: the profile's"."""
    values = parameters.check("03_fine_tuning", {"seeds": 0}, injected=["seeds"])
    assert values["seeds"] == "0" and bool(values["seeds"])


@pytest.mark.parametrize("chapter, name, value, words", [
    ("06_findings", "top_k", -1, "at least 1"),
    ("04_low_data", "k", 0, "at least 1"),
    ("03_fine_tuning", "fraction", 1.5, "share"),
    ("03_fine_tuning", "device", "gpu", "cuda"),
    ("03_fine_tuning", "seeds", "0,one", "whole numbers"),
    ("03_fine_tuning", "profile", "workshp", "'workshop'"),
    ("04_low_data", "fractions", "0.1,2", "shares"),
    ("07_your_data", "image_size", 100, "multiple of 32"),
    ("06_findings", "top_k", "three", "whole number"),
    ("08_performance", "utilisation", 0, "share"),
])
def test_a_bad_value_fails_with_one_line_naming_it(chapter, name, value, words):
    with pytest.raises(ConfigError) as err:
        parameters.check(chapter, {name: value}, injected=[name])
    message = str(err.value)
    assert "\n" not in message and name in message and words in message


def test_an_unknown_parameter_fails_naming_it():
    with pytest.raises(ConfigError, match="has no parameter 'max_epoch'") as err:
        parameters.check("04_low_data", {"max_epoch": 2}, injected=["max_epoch", "k"])
    assert "papermill --help-notebook" in str(err.value)


def test_the_injected_names_are_read_from_the_kernels_history(monkeypatch):
    class Shell:
        user_ns = {"In": ["", "profile: str = 'workshop'", "# Parameters\nprofile = \"ci\"\nmax_epochs = 2\n"]}

    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert parameters.injected_names() == ["profile", "max_epochs"]


@pytest.mark.parametrize("chapter", ["03_fine_tuning", "04_low_data"])
def test_training_chapters_declare_the_one_set_of_run_parameters(chapter):
    from book import chapter as chapter_lib

    source = chapter_lib.parameter_source(chapter)
    missing = [line for line in parameters.RUN_PARAMETERS.splitlines() if line not in source.splitlines()]
    assert not missing, f"{chapter} lacks (or words differently) {missing}"


def test_plan_arguments_keep_zero_seeds_and_mean_the_profiles_choice_when_empty():
    values = parameters.check("03_fine_tuning", {"seeds": 0, "max_epochs": 2, "image_size": 64},
                              injected=["seeds", "max_epochs", "image_size"])
    args = parameters.plan_arguments(values)
    assert args["seeds"] == "0" and args["max_epochs"] == 2 and args["image_size"] == 64
    assert args["backbones"] is None and args["pretrained"] is None and args["batch_size"] is None


def test_chapter_7_declares_the_run_parameters_a_search_honours_in_the_same_words():
    """Chapter 7's search takes the backbones, epoch cap, image size and batch size as chapters 3 and 4 do (its
    seeds are the full protocol's, two or more, and its device the profile's: a device it cannot honour is refused
    as an unknown parameter rather than ignored)."""
    from book import chapter as chapter_lib

    source = chapter_lib.parameter_source("07_your_data").splitlines()
    run = {line.split(":")[0]: line for line in parameters.RUN_PARAMETERS.splitlines()}
    for name in ("backbones", "max_epochs", "image_size", "batch_size"):
        assert run[name] in source, name
    with pytest.raises(ConfigError, match="has no parameter 'device'"):
        parameters.check("07_your_data", {"device": "cuda"}, injected=["device"])
