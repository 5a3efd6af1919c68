from __future__ import annotations

import pytest

from engine.forms.compile import CompiledForm, compile_form
from engine.forms.messages import FormDefinitionError, FormValidationError
from engine.forms.values import uscc_valid

REQUIRED = "必填 / required"
UNKNOWN = "未知字段 / unknown field"


def form(*components):
    return {"type": "default", "id": "Form_Test", "components": list(components)}


def errors_of(compiled: CompiledForm, data, options=None) -> dict[str, list[str]]:
    with pytest.raises(FormValidationError) as info:
        compiled.validate(data, options)
    errors = info.value.errors
    # every message is "中文 / English"
    for messages in errors.values():
        assert messages and all(" / " in m for m in messages), errors
    return errors


# ---- a realistic joint-review form -----------------------------------------------------------

REVIEW = form(
    {"type": "text", "text": "# 消防审查"},
    {"type": "textfield", "key": "company_name", "label": "企业名称", "validate": {"required": True, "maxLength": 50}},
    {"type": "textfield", "key": "uscc", "label": "统一社会信用代码", "properties": {"format": "uscc"}},
    {
        "type": "radio",
        "key": "fire_review_passed",
        "label": "审查结论",
        "values": [{"label": "通过", "value": True}, {"label": "不通过", "value": False}],
        "validate": {"required": True},
    },
    {"type": "textarea", "key": "fire_review_reason", "properties": {"requiredWhen": "fire_review_passed=false"}},
    {
        "type": "group",
        "path": "fire_review",
        "label": "审查意见",
        "components": [
            {"type": "textarea", "key": "opinion", "validate": {"required": True, "minLength": 2}},
            {"type": "datetime", "key": "reviewed_on", "subtype": "date"},
        ],
    },
    {"type": "group", "label": "无路径分组", "components": [{"type": "number", "key": "area", "validate": {"min": 0}}]},
    {
        "type": "dynamiclist",
        "path": "rectification_items",
        "isRepeating": True,
        "components": [
            {"type": "textfield", "key": "description", "validate": {"required": True}},
            {"type": "number", "key": "days", "decimalDigits": 0, "validate": {"min": 1, "max": 30}},
        ],
    },
    {"type": "select", "key": "commissioner", "valuesKey": "commissioner_options"},
    {"type": "spacer"},
    {"type": "separator"},
)

GOOD = {
    "company_name": "济宁某某科技有限公司",
    "uscc": "91350100M000100Y43",
    "fire_review_passed": True,
    "fire_review": {"opinion": "符合要求", "reviewed_on": "2025-10-09"},
    "area": 1200.5,
    "rectification_items": [{"description": "补充疏散指示", "days": 7}],
    "commissioner": "user-17",
}
OPTIONS = {"commissioner_options": [{"label": "张三", "value": "user-17"}, {"label": "李四", "value": "user-18"}]}


def test_good_data_is_returned_clean():
    compiled = compile_form(REVIEW)
    assert compiled.validate(GOOD, OPTIONS) == GOOD


def test_compile_is_cached_per_form_content():
    a = compile_form(REVIEW)
    b = compile_form({**REVIEW, "components": list(REVIEW["components"])})
    assert a is b
    assert compile_form(form({"type": "textfield", "key": "x"})) is not a


def test_errors_named_by_dotted_path():
    compiled = compile_form(REVIEW)
    data = {
        "fire_review_passed": False,
        "fire_review": {"opinion": "", "reviewed_on": "2025/10/09"},
        "rectification_items": [{"description": "ok", "days": 3}, {"days": 31.5}, "junk"],
        "surprise": 1,
    }
    errors = errors_of(compiled, data, OPTIONS)
    assert errors["company_name"] == [REQUIRED]
    assert errors["fire_review_reason"] == [REQUIRED]
    assert errors["fire_review.opinion"] == [REQUIRED]
    assert errors["fire_review.reviewed_on"] == ["日期格式应为 YYYY-MM-DD / must be a date YYYY-MM-DD"]
    assert errors["rectification_items.1.description"] == [REQUIRED]
    assert set(errors["rectification_items.1.days"]) == {
        "不得大于 30 / must be at most 30",
        "应为整数 / must be an integer",
    }
    assert errors["rectification_items.2"] == ["应为对象 / must be an object"]
    assert errors["surprise"] == [UNKNOWN]
    assert "rectification_items.0.description" not in errors


def test_missing_group_still_checks_its_required_fields():
    errors = errors_of(compile_form(REVIEW), {"company_name": "x", "fire_review_passed": True})
    assert errors == {"fire_review.opinion": [REQUIRED]}


def test_unknown_fields_at_every_level():
    compiled = compile_form(REVIEW)
    data = {
        **GOOD,
        "fire_review": {"opinion": "好的意见", "extra": 1},
        "rectification_items": [{"description": "d", "x": 2}],
    }
    errors = errors_of(compiled, data, OPTIONS)
    assert errors == {"fire_review.extra": [UNKNOWN], "rectification_items.0.x": [UNKNOWN]}


def test_non_dict_root_and_nested_junk():
    compiled = compile_form(REVIEW)
    for junk in (None, [], "x", 5, [GOOD]):
        assert errors_of(compiled, junk) == {"_root": ["应为对象 / must be an object"]}
    deep: object = "x"
    for _ in range(100_000):
        deep = [deep]
    deep_obj: object = {}
    for _ in range(50_000):
        deep_obj = {"a": deep_obj}
    errors = errors_of(compiled, {**GOOD, "company_name": deep, "fire_review": deep_obj, "area": deep_obj}, OPTIONS)
    assert errors["company_name"] == ["应为文本 / must be a string"]
    assert errors["fire_review.a"] == [UNKNOWN]
    assert errors["area"] == ["应为数字 / must be a number"]
    errors = errors_of(compiled, {**GOOD, "fire_review": {"opinion": {"deeper": {"still": 1}}}}, OPTIONS)
    assert errors == {"fire_review.opinion": ["应为文本 / must be a string"]}
    assert errors_of(compiled, {**GOOD, "rectification_items": {"0": {}}}, OPTIONS) == {
        "rectification_items": ["应为列表 / must be a list"]
    }


# ---- text ------------------------------------------------------------------------------------

TEXT = form(
    {
        "type": "textfield",
        "key": "code",
        "validate": {"required": True, "minLength": 3, "maxLength": 6, "pattern": "[A-Z]+\\d*"},
    },
    {"type": "textarea", "key": "notes"},
)


def test_text_good_and_bad():
    compiled = compile_form(TEXT)
    assert compiled.validate({"code": "AB12", "notes": "第一行\n第二行\t制表"}) == {
        "code": "AB12",
        "notes": "第一行\n第二行\t制表",
    }
    assert compiled.validate({"code": "ABC", "notes": ""}) == {"code": "ABC", "notes": ""}
    assert errors_of(compiled, {"code": "AB"}) == {"code": ["不得少于 3 个字符 / must have at least 3 characters"]}
    assert errors_of(compiled, {"code": "ABCDEFG"}) == {"code": ["不得超过 6 个字符 / must have at most 6 characters"]}
    # the pattern must match the whole value
    assert errors_of(compiled, {"code": "xAB12"}) == {"code": ["格式不符合要求 / must match pattern [A-Z]+\\d*"]}
    assert "code" in errors_of(compiled, {"code": "AB12x"})
    # \d is ASCII only, as in JavaScript
    assert "code" in errors_of(compiled, {"code": "AB１２"})
    # minLength counts the trimmed value, as form-js does
    assert "code" in errors_of(compiled, {"code": " A  "})
    assert errors_of(compiled, {"code": 123}) == {"code": ["应为文本 / must be a string"]}


@pytest.mark.parametrize("empty", [None, ""])
def test_required_none_and_empty_string_are_missing(empty):
    assert errors_of(compile_form(TEXT), {"code": empty}) == {"code": [REQUIRED]}
    assert errors_of(compile_form(TEXT), {}) == {"code": [REQUIRED]}


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "\x7f", "a\x85b", "\ud800"])
def test_control_characters_refused(bad):
    errors = errors_of(compile_form(TEXT), {"code": "ABC", "notes": bad})
    assert errors == {"notes": ["包含不允许的控制字符 / contains control characters"]}


def test_huge_strings_refused():
    compiled = compile_form(TEXT)
    assert compiled.validate({"code": "ABC", "notes": "字" * 10_000})["notes"] == "字" * 10_000
    assert errors_of(compiled, {"code": "ABC", "notes": "x" * 10_001}) == {
        "notes": ["不得超过 10000 个字符 / must have at most 10000 characters"]
    }
    assert errors_of(compiled, {"code": "A" * 5_000_000}) == {
        "code": ["不得超过 6 个字符 / must have at most 6 characters"]
    }
    bigger = compile_form(form({"type": "textarea", "key": "t", "validate": {"maxLength": 20_000}}))
    assert bigger.validate({"t": "x" * 20_000})


def test_email_and_phone_validation_types():
    compiled = compile_form(
        form(
            {"type": "textfield", "key": "email", "validate": {"validationType": "email"}},
            {"type": "textfield", "key": "phone", "validate": {"validationType": "phone"}},
        )
    )
    assert compiled.validate({"email": "a.b@jining.gov.cn", "phone": "13812345678"})
    assert compiled.validate({"phone": "+8605372345678"})
    assert compiled.validate({"phone": "0537-2345678"})
    errors = errors_of(compiled, {"email": "a@", "phone": "12345"})
    assert set(errors) == {"email", "phone"}


# ---- USCC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216", "91440300708461136T"])
def test_uscc_valid(code):
    assert uscc_valid(code)
    compiled = compile_form(REVIEW)
    assert compiled.validate({**GOOD, "uscc": code}, OPTIONS)["uscc"] == code


@pytest.mark.parametrize(
    "code",
    [
        "911100001000000000",  # check character should be R
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100I000100Y43",  # I is not in the character set
        "91350100m000100y43",  # lower case
    ],
)
def test_uscc_invalid(code):
    assert not uscc_valid(code)
    errors = errors_of(compile_form(REVIEW), {**GOOD, "uscc": code}, OPTIONS)
    assert errors == {"uscc": ["统一社会信用代码无效 / invalid unified social credit code"]}


# ---- numbers ---------------------------------------------------------------------------------

NUMBER = form(
    {"type": "number", "key": "amount", "decimalDigits": 2, "validate": {"required": True, "min": 0.5, "max": 100}},
    {"type": "number", "key": "step", "increment": "0.5"},
    {"type": "number", "key": "as_text", "serializeToString": True, "validate": {"max": 10}},
)


def test_number_good_and_bad():
    compiled = compile_form(NUMBER)
    assert compiled.validate({"amount": 12.34, "step": 1.5, "as_text": "3.5"}) == {
        "amount": 12.34,
        "step": 1.5,
        "as_text": "3.5",
    }
    assert compiled.validate({"amount": 100, "step": None}) == {"amount": 100, "step": None}
    assert errors_of(compiled, {"amount": 0}) == {"amount": ["不得小于 0.5 / must be at least 0.5"]}
    assert errors_of(compiled, {"amount": 100.01}) == {"amount": ["不得大于 100 / must be at most 100"]}
    assert errors_of(compiled, {"amount": 1.234}) == {
        "amount": ["小数位数不得超过 2 位 / must have at most 2 decimal digits"]
    }
    assert errors_of(compiled, {"amount": 1, "step": 0.7}) == {
        "step": ["应为 0.5 的整数倍 / must be a multiple of 0.5"]
    }
    assert errors_of(compiled, {"amount": 1, "as_text": "11"}) == {"as_text": ["不得大于 10 / must be at most 10"]}


@pytest.mark.parametrize("bad", ["12", True, False, [1], {"v": 1}, "1e3"])
def test_number_wrong_types(bad):
    assert errors_of(compile_form(NUMBER), {"amount": bad}) == {"amount": ["应为数字 / must be a number"]}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 10**400, 2**53])
def test_number_non_finite_or_huge(bad):
    errors = errors_of(compile_form(NUMBER), {"amount": bad})
    assert list(errors) == ["amount"]


# ---- checkbox, radio, select, checklist, taglist ---------------------------------------------

CHOICES = form(
    {"type": "checkbox", "key": "agree", "validate": {"required": True}},
    {"type": "checkbox", "key": "urgent"},
    {"type": "radio", "key": "level", "values": [{"label": "一", "value": 1}, {"label": "二", "value": 2}]},
    {
        "type": "select",
        "key": "kind",
        "values": [{"label": "新办", "value": "new"}, {"label": "变更", "value": "change"}],
    },
    {
        "type": "checklist",
        "key": "materials",
        "values": [{"label": "a", "value": "a"}, {"label": "b", "value": "b"}, {"label": "c", "value": "c"}],
    },
    {"type": "taglist", "key": "departments", "valuesKey": "department_options"},
    {"type": "select", "key": "item", "valuesKey": "catalogue_options"},
)
DEPTS = {
    "department_options": [
        {"label": "消防救援大队", "value": "fire_rescue"},
        {"label": "税务局", "value": "tax_bureau"},
    ],
    "catalogue_options": [{"label": "营业执照", "value": "C01"}],
}


def test_choices_good():
    compiled = compile_form(CHOICES)
    data = {
        "agree": True,
        "urgent": False,
        "level": 2,
        "kind": "change",
        "materials": ["c", "a"],
        "departments": ["tax_bureau"],
        "item": "C01",
    }
    assert compiled.validate(data, DEPTS) == data
    assert compiled.validate({"agree": True, "level": 2.0, "materials": []}, DEPTS)["level"] == 2.0


def test_checkbox():
    compiled = compile_form(CHOICES)
    assert errors_of(compiled, {"agree": False}) == {"agree": [REQUIRED]}  # required checkbox = must be ticked
    for bad in ("true", 1, 0, "on"):
        assert errors_of(compiled, {"agree": bad}) == {"agree": ["应为是或否（true/false） / must be true or false"]}


def test_options_compared_with_type():
    compiled = compile_form(CHOICES)
    not_allowed = ["不是可选的值 / not one of the allowed values"]
    assert errors_of(compiled, {"agree": True, "level": "1"}) == {"level": not_allowed}
    assert errors_of(compiled, {"agree": True, "level": True}) == {"level": not_allowed}
    assert errors_of(compiled, {"agree": True, "kind": "delete"}) == {"kind": not_allowed}
    assert errors_of(compiled, {"agree": True, "kind": ["new"]}) == {"kind": not_allowed}
    bools = compile_form(
        form(
            {"type": "radio", "key": "ok", "values": [{"label": "是", "value": True}, {"label": "否", "value": False}]}
        )
    )
    assert bools.validate({"ok": False}) == {"ok": False}
    assert errors_of(bools, {"ok": "true"}) == {"ok": not_allowed}
    assert errors_of(bools, {"ok": 1}) == {"ok": not_allowed}


def test_multi_choices():
    compiled = compile_form(CHOICES)
    assert errors_of(compiled, {"agree": True, "materials": ["a", "x"]}) == {
        "materials": ["不是可选的值 / not one of the allowed values"]
    }
    assert errors_of(compiled, {"agree": True, "materials": ["a", "a"]}) == {
        "materials": ["选项重复 / duplicate value"]
    }
    assert errors_of(compiled, {"agree": True, "materials": "a"}) == {"materials": ["应为列表 / must be a list"]}
    assert list(errors_of(compiled, {"agree": True, "materials": ["a"] * 1_000_000})) == ["materials"]
    required = compile_form(
        form(
            {"type": "checklist", "key": "m", "values": [{"label": "a", "value": "a"}], "validate": {"required": True}}
        )
    )
    assert errors_of(required, {"m": []}) == {"m": [REQUIRED]}


def test_values_key_options():
    compiled = compile_form(CHOICES)
    errors = errors_of(compiled, {"agree": True, "departments": ["fire_rescue", "police"], "item": "C02"}, DEPTS)
    assert errors == {
        "departments": ["不是可选的值 / not one of the allowed values"],
        "item": ["不是可选的值 / not one of the allowed values"],
    }
    # options not supplied: the value cannot be accepted
    assert errors_of(compiled, {"agree": True, "item": "C01"}) == {
        "item": ["选项不可用 / no options available for this field"]
    }
    # an echoed options variable is dropped rather than refused
    echoed = {"agree": True, "item": "C01", "catalogue_options": [{"label": "x", "value": "x"}]}
    assert compiled.validate(echoed, DEPTS) == {"agree": True, "item": "C01"}


# ---- datetime --------------------------------------------------------------------------------


def test_datetime_subtypes():
    compiled = compile_form(
        form(
            {"type": "datetime", "key": "d", "subtype": "date"},
            {"type": "datetime", "key": "dt", "subtype": "datetime"},
            {"type": "datetime", "key": "t", "subtype": "time"},
        )
    )
    good = {"d": "2025-10-11", "dt": "2025-10-11T09:30Z", "t": "09:30"}
    assert compiled.validate(good) == good
    assert compiled.validate({"dt": "2025-10-11T09:30:15+08:00", "t": "09:30+08:00"})
    errors = errors_of(compiled, {"d": "2025-02-30", "dt": "2025-10-11", "t": "9:30"})
    assert set(errors) == {"d", "dt", "t"}
    assert errors_of(compiled, {"d": 20251011}) == {"d": ["应为文本 / must be a string"]}
    assert list(errors_of(compiled, {"d": "2025-10-11T00:00Z"})) == ["d"]


# ---- requiredWhen ----------------------------------------------------------------------------


def test_required_when():
    compiled = compile_form(REVIEW)
    base = {k: v for k, v in GOOD.items() if k != "commissioner"}
    assert compiled.validate({**base, "fire_review_passed": True})
    assert errors_of(compiled, {**base, "fire_review_passed": False}) == {"fire_review_reason": [REQUIRED]}
    assert errors_of(compiled, {**base, "fire_review_passed": False, "fire_review_reason": ""}) == {
        "fire_review_reason": [REQUIRED]
    }
    assert compiled.validate({**base, "fire_review_passed": False, "fire_review_reason": "缺少消防设计文件"})


def test_required_when_literals_and_paths():
    compiled = compile_form(
        form(
            {
                "type": "select",
                "key": "kind",
                "values": [{"label": "a", "value": "other"}, {"label": "b", "value": "std"}],
            },
            {"type": "number", "key": "count"},
            {"type": "textfield", "key": "other_text", "properties": {"requiredWhen": "kind=other"}},
            {"type": "textfield", "key": "count_note", "properties": {"requiredWhen": "count=3"}},
            {
                "type": "group",
                "path": "review",
                "components": [
                    {"type": "checkbox", "key": "passed"},
                    {"type": "textarea", "key": "reason", "properties": {"requiredWhen": "passed=false"}},
                    {"type": "textarea", "key": "why_other", "properties": {"requiredWhen": "kind='other'"}},
                ],
            },
            {
                "type": "dynamiclist",
                "path": "rows",
                "components": [
                    {"type": "checkbox", "key": "flag"},
                    {"type": "textfield", "key": "detail", "properties": {"requiredWhen": "flag=true"}},
                ],
            },
        )
    )
    errors = errors_of(
        compiled,
        {"kind": "other", "count": 3, "review": {"passed": False}, "rows": [{"flag": True}, {"flag": False}]},
    )
    # "kind" is not a sibling inside "review", so review.why_other looks it up from the root
    assert set(errors) == {"other_text", "count_note", "review.reason", "review.why_other", "rows.0.detail"}
    assert errors_of(compiled, {"kind": "std", "count": 3}) == {"count_note": [REQUIRED]}
    assert compiled.validate({"kind": "std", "count": 3.0, "count_note": "n"})
    assert compiled.validate({"kind": "std", "count": 4, "review": {"passed": True}, "rows": [{"flag": False}]})


# ---- dynamic lists ---------------------------------------------------------------------------


def test_dynamiclist_min_max_rows():
    compiled = compile_form(
        form(
            {
                "type": "dynamiclist",
                "path": "people",
                "properties": {"minItems": "1", "maxItems": "2"},
                "components": [{"type": "textfield", "key": "name"}],
            }
        )
    )
    assert compiled.validate({"people": [{"name": "a"}]}) == {"people": [{"name": "a"}]}
    assert errors_of(compiled, {}) == {"people": [REQUIRED]}
    assert errors_of(compiled, {"people": []}) == {"people": ["至少需要 1 行 / must have at least 1 rows"]}
    assert errors_of(compiled, {"people": [{}, {}, {}]}) == {"people": ["不得超过 2 行 / must have at most 2 rows"]}
    default_cap = compile_form(
        form({"type": "dynamiclist", "path": "r", "components": [{"type": "textfield", "key": "x"}]})
    )
    assert list(errors_of(default_cap, {"r": [{}] * 501})) == ["r"]


def test_dotted_keys_and_nested_paths():
    compiled = compile_form(
        form(
            {"type": "textfield", "key": "applicant.name", "validate": {"required": True}},
            {"type": "group", "path": "site.address", "components": [{"type": "textfield", "key": "street"}]},
        )
    )
    assert compiled.validate({"applicant": {"name": "王五"}, "site": {"address": {"street": "崇文大道"}}}) == {
        "applicant": {"name": "王五"},
        "site": {"address": {"street": "崇文大道"}},
    }
    assert errors_of(compiled, {"applicant": {}, "site": {"address": {"street": 1}}}) == {
        "applicant.name": [REQUIRED],
        "site.address.street": ["应为文本 / must be a string"],
    }
    assert errors_of(compiled, {"applicant": "王五"}) == {"applicant": ["应为对象 / must be an object"]}


# ---- readonly, hidden, keys that look like Schema attributes ---------------------------------


def test_readonly_disabled_values_are_dropped_and_hidden_not_required():
    compiled = compile_form(
        form(
            {"type": "textfield", "key": "case_no", "readonly": True},
            {"type": "textfield", "key": "old", "disabled": True, "validate": {"required": True}},
            {"type": "textfield", "key": "maybe", "validate": {"required": True}, "conditional": {"hide": "=x"}},
            {"type": "textfield", "key": "fields"},
            {"type": "textfield", "key": "load"},
            {"type": "textfield", "key": "Meta"},
        )
    )
    assert compiled.validate({"case_no": "tampered", "old": 1}) == {}
    assert compiled.validate({"fields": "a", "load": "b", "Meta": "c"}) == {"fields": "a", "load": "b", "Meta": "c"}
    assert errors_of(compiled, {"maybe": 5}) == {"maybe": ["应为文本 / must be a string"]}


# ---- fields and initial data -----------------------------------------------------------------


def test_fields_and_initial_data():
    compiled = compile_form(REVIEW)
    by_path = {f.path: f for f in compiled.fields}
    assert by_path["company_name"].required and by_path["company_name"].label == "企业名称"
    assert by_path["fire_review.opinion"].type == "textarea"
    assert by_path["rectification_items.*.description"].required
    assert by_path["fire_review_reason"].required_when == "fire_review_passed=false"
    assert by_path["commissioner"].values_key == "commissioner_options"
    assert by_path["area"].type == "number"
    task_data = {
        **GOOD,
        "fire_review": {"opinion": "x", "secret": 1},
        "rectification_items": [{"description": "d", "other": 2}],
        "tax_review_passed": False,
        "commissioner_options": OPTIONS["commissioner_options"],
    }
    initial = compiled.initial_data(task_data)
    assert initial["fire_review"] == {"opinion": "x"}
    assert initial["rectification_items"] == [{"description": "d"}]
    assert "tax_review_passed" not in initial
    assert initial["commissioner_options"] == OPTIONS["commissioner_options"]
    assert initial["company_name"] == GOOD["company_name"]
    initial["fire_review"]["opinion"] = "changed"
    assert task_data["fire_review"]["opinion"] == "x"
    assert compiled.initial_data(None) == {}


def test_many_unknown_fields_are_capped():
    errors = errors_of(compile_form(TEXT), {f"k{i}": i for i in range(5000)})
    assert len(errors) <= 201
    assert any("too many errors" in m for m in errors["_root"])


# ---- broken forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "components, where",
    [
        ([{"type": "textfield", "label": "no key"}], "components.0"),
        ([{"type": "textfield", "key": "a"}, {"type": "number", "key": "a"}], "components.1"),
        (
            [{"type": "textfield", "key": "a"}, {"type": "group", "components": [{"type": "textfield", "key": "a"}]}],
            "components.1.components.0",
        ),
        ([{"type": "textfield", "key": "a"}, {"type": "group", "path": "a", "components": []}], "components.1"),
        ([{"type": "fancywidget", "key": "a"}], "components.0"),
        ([{"type": "textfield", "key": "a", "validate": {"pattern": "([a-z"}}], "components.0"),
        ([{"type": "select", "key": "a"}], "components.0"),
        ([{"type": "select", "key": "a", "valuesExpression": "=opts"}], "components.0"),
        ([{"type": "radio", "key": "a", "values": [{"label": "x"}]}], "components.0.values.0"),
        ([{"type": "textfield", "key": "a b"}], "components.0"),
        ([{"type": "textfield", "key": "_private"}], "components.0"),
        ([{"type": "textfield", "key": "a", "validate": {"maxLength": -1}}], "components.0"),
        ([{"type": "textfield", "key": "a", "validate": {"required": "yes"}}], "components.0"),
        ([{"type": "textfield", "key": "a", "properties": {"format": "iban"}}], "components.0"),
        ([{"type": "textfield", "key": "a", "properties": {"requiredWhen": "nobody=true"}}], "components.0"),
        ([{"type": "textfield", "key": "a", "properties": {"requiredWhen": "no equals sign"}}], "components.0"),
        ([{"type": "datetime", "key": "a", "subtype": "week"}], "components.0"),
        ([{"type": "dynamiclist", "components": []}], "components.0"),
        (["not a component"], "components.0"),
    ],
)
def test_form_definition_errors(components, where):
    with pytest.raises(FormDefinitionError) as info:
        compile_form(form(*components))
    assert info.value.path == where
    assert info.value.message


def test_form_definition_errors_whole_form():
    for bad in (None, [], {"type": "default"}, {"components": "x"}):
        with pytest.raises(FormDefinitionError):
            compile_form(bad)


def test_any_values_key_accepted_at_compile_time():
    compiled = compile_form(form({"type": "select", "key": "who", "valuesKey": "reviewer_choices"}))
    assert compiled.validate({"who": "u1"}, {"reviewer_choices": [{"label": "u1", "value": "u1"}]}) == {"who": "u1"}


def test_required_when_on_a_dynamic_list():
    from engine.forms.compile import compile_form
    from engine.forms.messages import FormValidationError

    form = {
        "type": "default",
        "components": [
            {
                "type": "radio",
                "key": "passed",
                "label": "结论",
                "values": [{"label": "合格", "value": True}, {"label": "不合格", "value": False}],
                "validate": {"required": True},
            },
            {
                "type": "dynamiclist",
                "path": "items",
                "label": "整改事项",
                "properties": {"requiredWhen": "passed=false"},
                "components": [{"type": "textfield", "key": "item", "label": "事项", "validate": {"required": True}}],
            },
        ],
    }
    cf = compile_form(form)
    assert cf.validate({"passed": True}) == {"passed": True}
    for bad in ({"passed": False}, {"passed": False, "items": []}):
        with pytest.raises(FormValidationError) as e:
            cf.validate(bad)
        assert "items" in e.value.errors
    assert cf.validate({"passed": False, "items": [{"item": "补设标志"}]})["items"] == [{"item": "补设标志"}]
