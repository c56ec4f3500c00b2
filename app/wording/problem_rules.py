"""The wording of the catalogue's own rules (an item's codes and code lists, situations,
lifecycle decisions), as :mod:`app.wording.problem_texts` words the fields' and the
problems' own; review's and the API's other refusals are in
:mod:`app.wording.problem_rules_api`."""

from __future__ import annotations

from app.wording.problem_texts import Say, Wording, quoted, s

NO_ITEM = s("没有实施编码为 {code} 的事项", "No item {code}", r"no implementation (?P<code>\S+)")
DEPARTMENT_UNKNOWN: Wording = (
    s(
        "没有统一社会信用代码为 {code} 的部门",
        "No department {code}",
        r"department '?(?P<code>[0-9A-Za-z]+)",
    ),
    s("「{field}」：没有这个部门", "“{field}”: no such department"),
)

ITEM: dict[str, Wording | Say] = {
    "guide.charges_fee": s(
        "「{field}」应为“是”：本事项列有收费项目", "“{field}” must be yes: the item lists fees"
    ),
    "implementation.entrusting_department": s(
        "实施主体是受委托组织时，须填写「{field}」",
        "A body acting on entrustment names the “{field}”",
    ),
    "implementation.region": (
        s(
            "部门「{department}」属于{region}，与所选区划不符",
            "Department “{department}” is in {region}, not in the region chosen",
            r"department (?P<department>\S+) is in (?:region )?(?P<region>\d+)",
        ),
        s("所选部门与区划不符", "The department is not in the region chosen"),
    ),
    "implementation_code.basic_code": (
        s(
            "基本编码 {code} 不在基本目录中",
            "Basic code {code} is not in the catalogue",
            r"basic code (?P<code>\d+)",
        ),
        s("「{field}」不在基本目录中", "“{field}” is not in the catalogue"),
    ),
    "implementation_code.mismatch": (
        s(
            "「{field}」{given} 与实施主体、层级和基本编码不符，应为 {built}",
            "“{field}” {given} does not match the body, level and basic code: {built}",
            r"^code (?P<given>\S+) does not match .*\((?P<built>\S+)\)$",
        ),
        s("「{field}」与实施主体、层级和基本编码不符", "“{field}” does not match its parts"),
    ),
    "implementation_code.layout": s(
        "「{field}」应为31位实施编码", "“{field}” is a 31-character implementation code"
    ),
    "implementation_code.level": (
        s(
            "部门「{department}」的行使层级是{level}，与所填「{field}」不符",
            "Department “{department}” exercises level {level}, not the “{field}” given",
            r"department (?P<department>\S+) exercises level (?P<level>\d+)",
        ),
        s(
            "「{field}」中的层级{level2}与部门的行使层级{level}不符",
            "“{field}” has level {level2}; its department exercises level {level}",
            r"has level (?P<level2>\d+), its department exercises level (?P<level>\d+)",
        ),
        s("「{field}」：层级应为 1 至 6", "“{field}”: the level digit is 1-6"),
    ),
    "department.unknown": DEPARTMENT_UNKNOWN,
    "department.exists": (
        s(
            "部门 {code} 已经存在",
            "Department {code} exists already",
            r"department (?P<code>\S+) exists",
        ),
        s("这个部门已经存在", "That department exists already"),
    ),
    "material.unknown": (
        s(
            "共享材料库中没有编码为 {code} 的材料",
            "No shared material {code}",
            r"no shared material (?P<code>\S+)",
        ),
        s("「{field}」不在共享材料库中", "“{field}” is not a shared material"),
    ),
    "material.exists": (
        s(
            "共享材料 {code} 已经存在",
            "Shared material {code} exists already",
            r"shared material (?P<code>\S+) exists",
        ),
        s("这个共享材料已经存在", "That shared material exists already"),
    ),
    "code_list.*": (
        s(
            "「{field}」的值“{value}”不在代码表中，请从列表中选择",
            "“{field}”: “{value}” is not in its code list; choose one from the list",
            quoted("value") + " is not in code list",
        ),
        s(
            "「{field}」中的“{value}”不是可选的状态",
            "“{field}”: {value} is not a status",
            r"unknown status (?P<value>[^(]+?) \(",
        ),
        s("「{field}」不在代码表中，请从列表中选择", "“{field}” is not in its code list"),
    ),
    "credit_code.length": s(
        "「{field}」应为18位统一社会信用代码", "“{field}” is an 18-character credit code"
    ),
    "credit_code.format": s(
        "「{field}」不是有效的统一社会信用代码：由数字和大写字母组成（不含 I、O、S、V、Z），"
        "第3至8位是行政区划代码",
        "“{field}” is not a unified social credit code: digits and capitals (no I, O, S, V, Z), "
        "the region code in places 3-8",
    ),
    "credit_code.check_digit": s(
        "「{field}」的校验位不对，请核对统一社会信用代码",
        "“{field}”: the check character is wrong; check the credit code",
    ),
    "credit_code.organisation_check_digit": s(
        "「{field}」中组织机构代码的校验位不对，请核对",
        "“{field}”: the organisation code's check digit is wrong",
    ),
    "credit_code.mismatch": s(
        "「{field}」与地址中的代码不一致", "“{field}” differs from the code in the address"
    ),
    "region_code.layout": s("「{field}」应为6位行政区划代码", "“{field}” is a 6-digit region code"),
    "region_code.unknown": (
        s(
            "「{field}」：没有行政区划 {code}",
            "“{field}”: no region {code}",
            r"region '?(?P<code>[^' :]+?)'?(?: is|:|$)",
        ),
        s("「{field}」：没有这个行政区划", "“{field}”: no such region"),
    ),
    "region_code.not_valid": (
        s(
            "行政区划「{region}」在 {day} 已不再有效",
            "Region “{region}” is not valid on {day}",
            r"region (?P<region>\d+) is not valid on (?P<day>\S+)",
        ),
        s("「{field}」已不再有效", "“{field}” is no longer valid"),
    ),
    "basic_code.layout": s(
        "「{field}」应为12位数字，主项序号不能为 000",
        "“{field}” is 12 digits whose main sequence is not 000",
    ),
    "basic_code.item_type": (
        s(
            "「{field}」中的事项类型 {given} 与所填的 {expected} 不符",
            "“{field}” embeds item type {given}, not {expected}",
            r"embeds item type (?P<given>\w+), the entry is (?P<expected>\w+)",
        ),
        s("「{field}」中的事项类型与所填事项类型不符", "“{field}” embeds another item type"),
    ),
    "basic_code.domain": (
        s(
            "「{field}」中的业务领域 {given} 与所填的 {expected} 不符",
            "“{field}” embeds domain {given}, not {expected}",
            r"embeds domain (?P<given>\w+), the entry is (?P<expected>\w+)",
        ),
        s("「{field}」中的业务领域与所填不符", "“{field}” embeds another domain"),
    ),
    "basic_code.sub_item": (
        s(
            "子项的基本编码以主项 {parent} 的前9位开头，后3位大于 000",
            "A sub item of {parent} has a code that extends it (last three digits above 000)",
            r"sub item of (?P<parent>\d+)",
        ),
        s("「{field}」不是主项下的子项编码", "“{field}” is no sub item code of its main item"),
    ),
    "basic_code.exhausted": (
        s(
            "{code} 下已没有可用的序号",
            "No sequence number is left under {code}",
            r"left under (?P<code>\S+)",
        ),
        s("「{field}」下已没有可用的序号", "“{field}”: no sequence number left"),
    ),
    "basic_code.unknown": (
        s(
            "基本目录中没有 {code}",
            "No catalogue entry {code}",
            r"no catalogue entry (?P<code>\S+)",
        ),
        s("「{field}」不在基本目录中", "“{field}” is not in the catalogue"),
    ),
    "basic_code.immutable": s(
        "「{field}」是基本目录的标识，不能修改", "“{field}” identifies the entry and cannot change"
    ),
    "alias.known": (
        s(
            "事项「{name}」已有这些名称：{values}",
            "“{name}” has these names already: {values}",
            r"^(?P<name>.+) already has these names: (?P<values>.+)$",
        ),
        s("这些名称事项已经有了", "The item has these names already"),
    ),
    "item.too_large": (
        s(
            "事项内容过大（{size} 字节，最多 {most} 字节）",
            "The item would be {size} bytes; at most {most}",
            r"would be (?P<size>[\d,]+) bytes; at most (?P<most>[\d,]+)",
        ),
        s("事项内容过大", "The item is too large"),
    ),
    "version": s("「{field}」从 1 开始", "“{field}” starts at 1"),
    "listing.level": s("「{field}」不是有效的行使层级", "“{field}” is not a level"),
}

SITUATIONS: dict[str, Wording | Say] = {
    "situation.condition": (
        s(
            "「{field}」不完整：缺少选项编号",
            "“{field}” ends too early: an option id is missing",
            r"ends too early",
        ),
        s(
            "「{field}」第 {at} 个字符“{char}”无法识别：只能用选项编号、and、or、not 和括号",
            "“{field}”: “{char}” at {at} is not understood: option ids, and, or, not, ( )",
            r"^“(?P<char>.+)” at (?P<at>\d+):",
        ),
        s("「{field}」嵌套太深", "“{field}” is nested too deeply", r"nested too deeply"),
        s("「{field}」中的“(”没有闭合", "“{field}”: a “(” is not closed", r"is not closed"),
        s(
            "「{field}」中“{token}”所在的位置应为选项编号",
            "“{field}”: “{token}” stands where an option id belongs",
            r"^“(?P<token>.+)” where an option id belongs",
        ),
        s(
            "「{field}」中“{token}”之前缺少 and 或 or",
            "“{field}”: and / or missing before “{token}”",
            r"^“(?P<token>.+)” follows a complete condition",
        ),
        s(
            "「{field}」最多 {max_length} 个字符",
            "“{field}” holds at most {max_length} characters",
            r"at most (?P<max_length>\d+) characters",
        ),
        s(
            "「{field}」应为选项编号，或用 and、or、not 和括号组合的条件",
            "“{field}” is an option id or a condition of ids with and, or, not, ( )",
        ),
    ),
    "situation.unknown_question": (
        s(
            "没有编号为“{question}”的问题",
            "No question “{question}”",
            "no question " + quoted("question"),
        ),
        s("「{field}」：没有这个问题", "“{field}”: no such question"),
    ),
    "situation.not_asked": (
        s(
            "问题“{question}”只在选择了前面的某个答案后才需回答",
            "Question “{question}” is asked only after another answer",
            "question " + quoted("question"),
        ),
        s(
            "「{field}」只在选择了前面的某个答案后才需回答",
            "“{field}” is asked only after another answer",
        ),
    ),
    "situation.unknown_option": (
        s(
            "“{option}”不是「{field}」的选项（可选：{values}）",
            "“{option}” is not an option of “{field}” (one of {values})",
            quoted("option") + r" is not an option of .*\(one of (?P<values>.*)\)$",
        ),
        s(
            "「{field}」中的选项“{option}”不在本事项的情形中",
            "“{field}”: no option “{option}” among the item's situations",
            "no option " + quoted("option"),
        ),
        s("「{field}」中有本事项没有的选项", "“{field}” names an option the item does not have"),
    ),
    "situation.single_choice": s("「{field}」只能选一项", "“{field}” takes one answer"),
    "situation.repeated": s("「{field}」中有重复的选项", "“{field}” gives an option twice"),
    "situation.unanswered": (
        s("请回答「{question}」", "Please answer “{question}”", r"^unanswered: (?P<question>.+)$"),
        s("请回答这个问题", "Please answer this question"),
    ),
    "situation.id": (
        s(
            "「{field}」重复：选项编号在本事项的问题和选项中不能重复",
            "“{field}” is used twice: ids are unique among the item's questions and options",
            r"option ids",
        ),
        s("「{field}」重复：问题编号不能重复", "“{field}” is used twice: question ids are unique"),
    ),
    "situation.too_few_options": s(
        "「{field}」：单选问题至少需要两个选项", "“{field}”: a single choice needs two options"
    ),
    "situation.orphan": (
        s(
            "问题“{question}”的任何回答都不影响清单（没有材料、收费、步骤或时限依据它，也不引出追问）",
            "No answer to “{question}” changes the checklist (nothing depends on it, it "
            "reveals no question)",
            "no answer to " + quoted("question"),
        ),
        s(
            "「{field}」：没有任何回答会引出这个问题",
            "“{field}”: no answer leads to this question",
        ),
    ),
    "situation.depth": (
        s(
            "「{field}」嵌套超过 {depth} 层",
            "“{field}” is nested deeper than {depth}",
            r"deeper than (?P<depth>\d+)",
        ),
        s("「{field}」嵌套太深", "“{field}” is nested too deeply"),
    ),
    "situation.reveals_own": s(
        "「{field}」：选项不能引出它所在的问题",
        "“{field}”: an option cannot reveal its own question",
    ),
    "situation.empty_checklist": (
        s(
            "按以下回答将没有任何需要带的材料：{answers}",
            "These answers leave no material to bring: {answers}",
            r"no material to bring: (?P<answers>.+)$",
        ),
        s("有一种回答组合没有任何需要带的材料", "Some answers leave no material to bring"),
    ),
    "situation.too_many_combinations": (
        s(
            "多选题的 {n} 个选项可组成 {answers} 种回答，超过了一个事项最多 {most} 种回答组合",
            "{n} options of a multiple choice make {answers} answers, more than {most}",
            r"^(?P<n>\d+) options of a multiple choice make (?P<answers>\d+) answers, "
            r"more than the (?P<most>\d+)",
        ),
        s(
            "「{field}」的回答组合超过 {most} 种，请减少问题或选项",
            "“{field}” can be answered in more than {most} ways: fewer questions or options",
            r"more than (?P<most>\d+) combinations",
        ),
        s("回答组合太多，请减少问题或选项", "Too many combinations of answers"),
    ),
    "situation_sheet.duplicate": (
        s(
            "选项编号“{option}”与第 {row} 行重复",
            "Option {option} is on row {row} already",
            r"option (?P<option>\S+) is on row (?P<row>\d+)",
        ),
        s("选项编号重复", "An option id is given twice"),
    ),
    "situation_sheet.required": (
        s("「{column}」不能为空", "“{column}” is empty", r"^(?P<column>.+) is empty$"),
        s("这一格不能为空", "This cell is empty"),
    ),
    "situation_sheet.yes_no": (
        s("「{column}」应填“是”或“否”", "“{column}”: yes or no", r"^(?P<column>[^:]+): "),
        s("应填“是”或“否”", "Yes or no"),
    ),
    "situation_sheet.unknown": (NO_ITEM, s("没有这个事项", "No such item")),
    "situation_sheet.material.unknown": (
        s("没有名为「{name}」的材料", "No material “{name}”", r"no material (?P<name>.+)$"),
        s("没有这个材料", "No such material"),
    ),
}

DECISIONS: dict[str, Wording | Say] = {
    "merge.into": (
        s("事项不能并入它自己", "An item cannot be merged into itself", r"into itself"),
        NO_ITEM,
        s("「{field}」：没有这个事项", "“{field}”: no such item"),
    ),
    "delegation.handover_date": s(
        "「{field}」不能早于生效日期", "“{field}” cannot precede the effective date"
    ),
    "delegation.level": (
        s(
            "下放只能给下级：承接单位的层级{level}不低于本事项的层级{level2}",
            "A delegation goes down: level {level} is not below {level2}",
            r"level (?P<level>\d+) is not below (?P<level2>\d+)",
        ),
        s("下放只能给下级单位", "A delegation goes to a lower level"),
    ),
    "delegation.outside_province": (
        s(
            "部门「{department}」不在本省",
            "Department “{department}” is outside the province",
            r"department (?P<department>\S+) is outside",
        ),
        s("所选部门不在本省", "The department is outside the province"),
    ),
    "delegation.outside_region": (
        s(
            "部门「{department}」不在本事项所属的{region}范围内",
            "Department “{department}” is outside {region}, the delegating body's region",
            r"department (?P<department>\S+) .*delegating body's region (?P<region>\d+)",
        ),
        s("所选部门不在本事项所属区划内", "The department is outside the item's region"),
    ),
    "split.department": s(
        "拆分后的新事项应属于同一部门", "The new items belong to the same department"
    ),
    "kind": s("请选择一种调整", "Choose an adjustment"),
}
