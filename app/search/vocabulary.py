"""The search vocabulary that is data, not code: stop words, follow-up operations, the item's
action words (qualifiers), the built-in synonym table, and the editable tables read from
``app/search/data/`` (department shortcuts, everyday words, the English glossary)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

#: follow-up operations on an item: a query without one prefers the item itself
FOLLOW_UPS = [
    "注销",
    "延续",
    "变更",
    "补办",
    "补领",
    "补发",
    "补证",
    "补换",
    "换证",
    "换领",
    "换发",
    "停业",
    "歇业",
    "恢复",
    "迁移",
    "转出",
    "转入",
    "转移",
    "查询",
    "年检",
    "挂失",
    "解挂",
    "撤销",
    "修改",
    "重置",
    "更正",
    "更名",
    "注册变更",
    "备案变更",
    "遗失",
    "丢失",
    "到期",
    "期满",
    "终止",
    "报停",
    "延期",
    "续期",
    "过户",
    # the same in everyday words
    "丢了",
    "掉了",
    "弄丢",
    "不见了",
    "过期",
    "坏了",
    "损坏",
    "破损",
    "不开了",
    "不干了",
    "关门",
    "倒闭",
]

#: filler words of questions (怎么办, 要什么手续…): never terms on their own
STOP_WORDS = frozenset(
    [
        "怎么",
        "怎样",
        "如何",
        "什么",
        "哪里",
        "哪儿",
        "在哪",
        "在哪里",
        "哪些",
        "需要",
        "要",
        "了",
        "的",
        "吗",
        "呢",
        "吧",
        "啊",
        "我",
        "我的",
        "想",
        "去",
        "个",
        "一个",
        "办",
        "办理",
        "手续",
        "流程",
        "可以",
        "能",
        "该",
        "请问",
        "怎么办",
        "需要",
        "材料",
        "有",
        "和",
        "与",
        "及",
        "或",
        "是",
        "给",
        "到",
        "在",
    ]
)


#: the vocabulary this catalogue ships with; admins replace it through PUT /synonyms
DEFAULT_SYNONYMS: list[list[str]] = [
    ["社保", "社会保障", "社会保险"],
    ["社保卡", "社会保障卡"],
    ["医保", "医疗保障", "医疗保险", "基本医疗保险"],
    ["公积金", "住房公积金"],
    ["低保", "最低生活保障"],
    ["个税", "个人所得税"],
    ["驾照", "驾驶证", "机动车驾驶证"],
    ["户口", "户籍"],
    ["落户", "户口迁入", "出生登记"],
    ["补办", "补领", "补证", "遗失补证"],
    ["丢了", "遗失", "补领"],
    ["换证", "换领", "期满换证"],
    ["身份证", "居民身份证"],
    ["结婚", "结婚登记"],
    ["离婚", "离婚登记"],
    ["结婚证", "婚姻登记", "结婚登记"],
    ["生孩子", "生育", "出生", "出生医学证明"],
    ["开店", "开公司", "办执照", "营业执照", "市场主体设立登记"],
    ["营业执照", "市场主体登记"],
    ["公司", "企业", "市场主体"],
    ["饭馆", "饭店", "餐馆", "餐饮", "食品经营许可"],
    ["退休", "退休申请", "养老金"],
    ["失业金", "失业保险金"],
    ["房产证", "不动产登记", "不动产权证"],
    ["买房", "购房", "购买自住住房"],
    ["租房", "租赁住房"],
    ["老人", "老年人", "高龄老人"],
    ["残疾证", "残疾人证"],
    ["当兵", "退役军人"],
    ["上学", "入学", "新生入学"],
    ["看病", "就医"],
    ["异地看病", "异地就医"],
    ["港澳通行证", "往来港澳通行证"],
    ["出国", "护照", "普通护照"],
    ["办厂", "企业投资项目"],
    ["开药店", "药品零售"],
    ["考驾照", "驾驶证初次申领"],
    ["出租车", "出租汽车"],
    ["当老师", "教师资格"],
    ["丧葬费", "丧葬补助金"],
    ["卖烟", "烟酒店", "烟草专卖零售"],
    ["密码忘了", "忘记密码", "密码重置"],
    ["上小学", "小学", "义务教育"],
    ["报名", "入学"],
    ["网约车", "网络预约出租汽车"],
    ["个体户", "个体工商户"],
    # everyday words for family, service and status matters
    ["领养", "收养"],
    ["退伍", "退役", "退役军人"],
    ["盖房子", "建房", "宅基地", "建设工程规划"],
    ["开饭馆", "食品经营许可"],
    ["小孩上学", "入学"],
]


#: an item's action (业务办理项 kind or what its name says), canonical word → the forms that
#: say it in names and queries: a qualifier in the query matches the item's ``action`` field
ACTIONS: dict[str, tuple[str, ...]] = {
    "新办": ("新办", "新申请", "首次申领", "首次申请", "首次", "初次", "设立", "新设", "新增",
             "开办", "第一次", "新开", "开家", "开一家", "开个", "核发", "配发", "初领", "新买",
             "刚买", "买了辆", "买了台", "孩子办", "小孩办", "宝宝办", "娃办", "给孩子",
             "给小孩", "给宝宝", "未成年", "成立", "筹设", "备案发放", "备案进行发放"),
    "补办": ("补办", "补领", "补发", "补证", "补换", "遗失", "丢失", "挂失", "增补", "丢了",
             "掉了", "弄丢", "不见了"),
    "换领": ("换领", "换发", "换证", "期满", "到期", "过期", "坏了", "损坏", "破损"),
    "变更": ("变更", "更名", "更正", "修改", "改变", "改名", "换名", "改地址", "换地址",
             "改成", "换成"),
    "注销": ("注销", "撤销", "解除", "结清", "终止", "报停", "不开了", "不干了", "关门",
             "倒闭"),
    "延续": ("延续", "延期", "续期", "续办", "延长", "续证", "续签", "续一下", "续一续", "到期",
             "过期", "期满"),
}  # fmt: skip
#: 业务办理项 kinds (``handling_items[].kind``) as actions; "其他" reads the item's name
HANDLING_KINDS = {"新设": "新办", "变更": "变更", "延续": "延续", "注销": "注销"}


def actions_in(text: str) -> list[str]:
    """The canonical actions ``text`` names (新办身份证 → [新办])."""
    return [a for a, forms in ACTIONS.items() if any(f in text for f in forms)]


def _table(name: str) -> list[tuple[list[str], list[str]]]:
    """``left, left = right, right`` lines of a data file (``#`` starts a comment)."""
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" not in line:
            continue
        left, right = line.split("=", 1)
        keys = [k.strip().lower() for k in left.split(",") if k.strip()]
        values = [v.strip() for v in right.split(",") if v.strip()]
        if keys and values:
            rows.append((keys, values))
    return rows


@functools.cache
def department_shortcuts() -> dict[str, tuple[str, ...]]:
    """shortcut → the forms of a department's name it stands for (data/departments.txt)."""
    return {keys[0]: tuple(dict.fromkeys([keys[0], *values])) for keys, values in
            _table("departments.txt")}  # fmt: skip


#: a ``*`` in an everyday form stands for at most this many characters (个人*营业执照 holds
#: 个人办营业执照 and 个人想申请营业执照, not 个人独资企业营业执照)
GAP = 3


@functools.cache
def everyday_words() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(everyday form, the catalogue's words for it), longest form first
    (data/everyday.txt): the query side's scan."""
    pairs = [(k, tuple(values)) for keys, values in _table("everyday.txt") for k in keys]
    return tuple(sorted(pairs, key=lambda kv: -len(kv[0])))


@functools.cache
def _gapped(form: str) -> re.Pattern[str]:
    """The pattern of a form with ``*`` (a gap of up to ``GAP`` characters)."""
    parts = [re.escape(p) for p in form.split("*")]
    return re.compile(f".{{0,{GAP}}}?".join(parts))


def everyday_meanings(text: str) -> list[str]:
    """The catalogue's words for the everyday words in ``text``, longest form first (a form
    inside a longer one found already counts once: 挖马路, not also 马路). A form with ``*``
    composes words the citizen put apart: 个人*营业执照, 去世*社保."""
    out: list[str] = []
    for form, meant in everyday_words():
        if "*" in form:
            found, text = _gapped(form).search(text), _gapped(form).sub(" ", text)
        else:
            found, text = form in text, text.replace(form, " ")
        if found:
            out += [m for m in meant if m not in out]
    return out


@functools.cache
def abbreviation_words() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(abbreviation, the catalogue's full words), longest first (data/abbreviations.txt)."""
    pairs = [(k, tuple(values)) for keys, values in _table("abbreviations.txt") for k in keys]
    return tuple(sorted(pairs, key=lambda kv: -len(kv[0])))


def abbreviation_meanings(text: str) -> list[str]:
    """The full words of the abbreviations in ``text``, longest first (an abbreviation inside
    a longer one found already counts once: 城乡居保, not also 居保)."""
    out: list[str] = []
    for form, meant in abbreviation_words():
        if form in text:
            text = text.replace(form, " ")
            out += [m for m in meant if m not in out]
    return out


@functools.cache
def glossary() -> dict[str, tuple[str, ...]]:
    """English word or phrase → Chinese words (data/glossary.txt)."""
    out: dict[str, tuple[str, ...]] = {}
    for keys, values in _table("glossary.txt"):
        for k in keys:
            out[re.sub(r"\s+", " ", k)] = tuple(values)
    return out
