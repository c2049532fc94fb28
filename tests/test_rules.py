"""vision.judge.rules: the rules file is checked at load, and its errors point at the place and the fix."""
import numpy as np
import pytest

from conftest import RULES_YAML, one_rule
from vision.features.table import FEATURES
from vision.judge.rules import Comparison, Group, RulesError, load_rules, parse_rules


def parse(text: str):
    return parse_rules(text, "rules.yaml")


def error_of(text: str) -> str:
    with pytest.raises(RulesError) as exc:
        parse(text)
    msg = str(exc.value)
    assert "\n" not in msg, "errors are one line"
    return msg


def test_valid_file_parses_with_defaults_applied(rules_text):
    rs = parse(rules_text)
    assert [r.id for r in rs.rules] == ["sit.slouch", "sit.lean_back", "gesture.face_touch", "face.smile"]
    slouch, _, touch, smile = rs.rules
    assert slouch.min_duration_s == 1.0 and slouch.merge_gap_s == 0.5  # merge gap from defaults
    assert smile.kind == "desired" and smile.severity == "info" and touch.severity == "medium"
    assert slouch.message_zh == "弯腰驼背，低头"
    assert slouch.condition == Group("all", (Comparison("trunk_pitch_deg", "above", 20.0, 15.0, True),))
    assert slouch.peak_feature == "trunk_pitch_deg" and slouch.peak_mode == "max"
    assert rs.calibration_window_s == (0.0, 3.0)
    assert rs.baseline_clamp == {"trunk_pitch_deg": (-15.0, 10.0)}
    assert rs.relative_features() == ["trunk_pitch_deg"]
    assert len(rs.sha256) == 64


def test_the_repos_own_rules_file_loads(repo_rules_path):
    rs = load_rules(repo_rules_path)
    assert rs.enabled
    for r in rs.rules:
        assert r.message_zh and r.message_en and r.clause
        assert r.peak_feature in FEATURES


def test_unknown_rule_key_suggests_the_right_one_and_names_the_rule():
    msg = error_of(RULES_YAML.replace("    min_duration_s: 1.0\n    evidence: [trunk",
                                      "    min_duraton_s: 1.0\n    evidence: [trunk"))
    assert msg == ("rules.yaml: rules[0] (sit.slouch).min_duraton_s: unknown key; "
                   "did you mean 'min_duration_s'?")


def test_unknown_key_in_a_later_rule_names_its_index():
    msg = error_of(RULES_YAML.replace("region_from:", "regoin_from:"))
    assert "rules[2] (gesture.face_touch).regoin_from" in msg and "did you mean 'region_from'" in msg


def test_unknown_feature_suggests_the_closest_feature():
    msg = error_of(RULES_YAML.replace("{feature: hand_face_dist,", "{feature: hand_face_distance,"))
    assert "rules[2] (gesture.face_touch).all[0].feature" in msg
    assert "unknown feature 'hand_face_distance'" in msg and "did you mean 'hand_face_dist'" in msg


def test_unknown_key_in_a_comparison_is_reported_with_its_path():
    msg = error_of(RULES_YAML.replace("above: 20, exit: 15", "above: 20, exti: 15"))
    assert "rules[0] (sit.slouch).all[0].exti" in msg and "did you mean 'exit'" in msg


@pytest.mark.parametrize("cmp, looser", [("above: 20, exit: 25", "<="), ("below: -15, exit: -20", ">=")])
def test_exit_threshold_must_be_looser_than_enter(cmp, looser):
    msg = error_of(RULES_YAML.replace("above: 20, exit: 15", cmp))
    assert "rules[0] (sit.slouch).all[0].exit" in msg
    assert f"must be {looser} the enter threshold" in msg


def test_exit_equal_to_enter_is_allowed_and_missing_exit_defaults_to_enter():
    assert one_rule(enter=0.5, exit=0.5).rules[0].condition.items[0].exit == 0.5
    assert one_rule(enter=0.5).rules[0].condition.items[0].exit == 0.5


def test_negative_min_duration_is_rejected_showing_the_value():
    msg = error_of(RULES_YAML.replace("min_duration_s: 1.0\n    evidence", "min_duration_s: -1\n    evidence"))
    assert msg == "rules.yaml: rules[0] (sit.slouch).min_duration_s: must be >= 0, got -1"


def test_non_numeric_threshold_is_rejected():
    msg = error_of(RULES_YAML.replace("above: 20, exit: 15", "above: high, exit: 15"))
    assert "rules[0] (sit.slouch).all[0].above: must be a number, got 'high'" in msg


def test_missing_chinese_message_is_rejected():
    msg = error_of(RULES_YAML.replace("message: {zh: 面带微笑, en: Smiling}", "message: {en: Smiling}"))
    assert "rules[3] (face.smile).message.zh" in msg and "missing" in msg


def test_duplicate_rule_id_is_rejected():
    msg = error_of(RULES_YAML.replace("id: sit.lean_back", "id: sit.slouch"))
    assert "rules[1] (sit.slouch).id" in msg and "duplicate id" in msg


def test_rule_without_a_condition_is_rejected():
    text = RULES_YAML.replace("    all:\n      - {feature: smile, above: 0.04, exit: 0.0}\n", "")
    assert "rules[3] (face.smile): needs a condition" in error_of(text)


def test_invalid_yaml_names_the_line():
    msg = error_of("rules:\n  - id: a\n    clause: [unclosed\n")
    assert msg.startswith("rules.yaml: line ") and "not valid YAML" in msg


def test_unknown_top_level_key_suggests_the_right_one():
    assert "did you mean 'calibration'" in error_of(RULES_YAML.replace("calibration:", "calibraton:"))


def test_calibration_window_must_end_after_it_starts():
    assert "calibration.window_s" in error_of(RULES_YAML.replace("window_s: [0.0, 3.0]", "window_s: [3.0, 1.0]"))


@pytest.mark.parametrize("bounds", ["[-15.0, high]", "[a, b]"])
def test_non_numeric_clamp_bounds_are_a_rules_error(bounds):
    msg = error_of(RULES_YAML.replace("trunk_pitch_deg: [-15.0, 10.0]", f"trunk_pitch_deg: {bounds}"))
    assert "calibration.clamp.trunk_pitch_deg" in msg


def test_nested_groups_parse_and_combine():
    text = RULES_YAML.replace("""    all:
      - {feature: smile, above: 0.04, exit: 0.0}""", """    any:
      - {feature: smile, above: 0.04}
      - all:
          - {feature: mouth_open, above: 0.1}
          - {feature: mouth_width, above: 0.5}""")
    smile = parse(text).rules[3]
    values = {"smile": np.array([0.1, 0.0, 0.0, np.nan]), "mouth_open": np.array([0, 0.2, 0.2, 0.2]),
              "mouth_width": np.array([0, 0.6, 0.4, 0.6])}
    enter, _ = smile.masks(values, {})
    np.testing.assert_array_equal(enter, [True, True, False, True])


def test_relative_comparison_subtracts_the_baseline_and_nan_meets_no_threshold():
    c = Comparison("trunk_pitch_deg", "above", 20.0, 15.0, relative=True)
    v = {"trunk_pitch_deg": np.array([25.0, 31.0, 27.0, np.nan])}
    enter, stay = c.masks(v, {"trunk_pitch_deg": 10.0})
    np.testing.assert_array_equal(enter, [False, True, False, False])
    np.testing.assert_array_equal(stay, [False, True, True, False])
    enter, stay = c.masks(v, {})  # no baseline: nothing to compare against
    assert not enter.any() and not stay.any()


def test_disabled_rules_are_parsed_but_not_enabled():
    rs = parse(RULES_YAML.replace("  - id: sit.lean_back\n", "  - id: sit.lean_back\n    enabled: false\n"))
    assert "sit.lean_back" in [r.id for r in rs.rules]
    assert "sit.lean_back" not in [r.id for r in rs.enabled]


def test_load_rules_on_a_missing_file_is_a_one_line_rules_error(tmp_path):
    with pytest.raises(RulesError, match="rules file not found"):
        load_rules(tmp_path / "nope.yaml")


def test_yields_to_names_a_known_rule_and_face_regions():
    """``yields_to`` is checked at load: the rule it names (with a suggestion), the regions, and region_from."""
    base = RULES_YAML.replace("  - id: sit.slouch\n", "  - id: sit.slouch\n    region_from: 'hand_{region}_dist'\n"
                              "    yields_to: {rule: sit.lean_bak, regions: [mouth]}\n")
    msg = error_of(base)
    assert "(sit.slouch).yields_to.rule" in msg and "did you mean 'sit.lean_back'" in msg
    msg = error_of(base.replace("sit.lean_bak", "sit.lean_back").replace("[mouth]", "[mouht]"))
    assert "yields_to.regions[0]" in msg and "did you mean 'mouth'" in msg
    msg = error_of(base.replace("sit.lean_bak", "sit.lean_back").replace("    region_from: 'hand_{region}_dist'\n", ""))
    assert "yields_to" in msg and "region_from" in msg
    rule = next(r for r in parse(base.replace("sit.lean_bak", "sit.lean_back")).rules if r.id == "sit.slouch")
    assert rule.yields_to == (("sit.lean_back", ("mouth",)),)
    two = base.replace("{rule: sit.lean_bak, regions: [mouth]}",
                       "[{rule: sit.lean_back, regions: [mouth]}, {rule: face.smlie, regions: [ear, cheek]}]")
    msg = error_of(two)
    assert "(sit.slouch).yields_to[1].rule" in msg and "did you mean 'face.smile'" in msg
    rule = next(r for r in parse(two.replace("smlie", "smile")).rules if r.id == "sit.slouch")
    assert rule.yields_to == (("sit.lean_back", ("mouth",)), ("face.smile", ("ear", "cheek")))
    assert "yields_to[0]" in error_of(base.replace("{rule: sit.lean_bak, regions: [mouth]}", "[sit.lean_back]"))
    one = base.replace("{rule: sit.lean_bak, regions: [mouth]}", "[{rule: sit.lean_bak, regions: [mouth]}]")
    assert "(sit.slouch).yields_to[0].rule" in error_of(one)  # a list of one is named as written, like its shape
