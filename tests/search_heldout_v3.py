"""The third held-out relevance set (issue 17, round 3): 40 queries over the 1,135 real items
of 广安区, written the way citizens type them, with the items a citizen asking them wants
among the top 3. It is modelled on the external set that judges issue 17 (same corpus, same
five classes, eight queries each) and is the judge of round 3; tests/search_dev_v4.py is its
tuning set.

How it was written: on 2026-12-02, finished at 05:56 UTC, from the item list alone
(../shared/data/items_guangan.json: names, departments, groups), before any query of it was
run through search and without reading how search is implemented (no analysis code, no
synonym or vocabulary file) nor the queries of the earlier suites (only the module
docstring of tests/search_heldout_v2.py, for the format). Every expected item was chosen
from the data: the item a citizen asking this wants, not what an engine returns. Where
several items are equally right (two steps of one procedure, the 新办 and the 县级 form of
one thing), all are accepted. The everyday words of the ``everyday`` class were checked to
be in no item's name; the topics of the examples given with issue 17 were not reused.

Never edit a query or an expected answer after results have been seen: misses are printed
by tests/search/test_search_v4.py (``test_heldout_v3_guangan``), they are not fixed here. A
judgment that is found to be wrong on the data itself (a name that does not exist fails the
integrity test) may only be corrected together with a note in the commit of why, and before
any tuning that uses it.

Classes (issue 17):
- ``everyday``: everyday words that are in no item's name (理发店, 煤气, 滴滴, 生孩子 …),
  typed as a citizen asks (要办啥证, 怎么报, 找谁);
- ``qualifier``: 新办 / 补办 / 换领 / 变更 / 注销 / 延续, or an everyday form of them (掉了,
  到期了, 过期了, 改名字, 关门了, 第一次), must choose that variant of an item; three carry a
  typo (a wrong homophone character) in the rest of the query;
- ``specific_vs_generic``: two parts, a specific term naming one item and a generic word
  (备案, 许可证, 申领, 登记, 证明) that matches many;
- ``department``: a department's short name (医保局, 残联, 林业局, 税务局, 住建, 水务局, 人社局,
  生态环境局) plus what; the department is what tells the right item from its look-alikes
  of other departments;
- ``english``: English for common services, with British and American spellings, a plural
  and upper case.
"""

from __future__ import annotations

CLASSES = ("everyday", "qualifier", "specific_vs_generic", "department", "english")

# (style, query, names a citizen wants among the top 3)
HELDOUT_V3_GUANGAN: list[tuple[str, str, set[str]]] = [
    # everyday words that are in no item's name
    ("everyday", "开个理发店要办啥证", {"公共场所卫生许可新办审批（县级）", "乙类公共场所备案"}),
    ("everyday", "新房子开通煤气", {"供气报装"}),
    ("everyday", "跑滴滴要办什么证", {"网络预约出租汽车运输证发放（新增）", "网约车车辆信息备案"}),
    ("everyday", "生孩子的钱怎么报", {"生育医疗费支付", "生育津贴支付"}),
    ("everyday", "家里老人去世了销户口", {"户口注销", "注销户口证明"}),
    ("everyday", "老板拖着工资不给", {"劳动人事争议仲裁申请"}),
    ("everyday", "承包水库养鱼要办证吗", {"水域滩涂养殖证的审核"}),
    ("everyday", "娃娃打疫苗的本本", {"《预防接种证》办理"}),
    # 新办 / 补办 / 换领 / 变更 / 注销 / 延续 choose the variant (残急, 职业, 架驶: typos)
    ("qualifier", "残急人证掉了", {"残疾人证挂失补办"}),
    ("qualifier", "烟草证到期了", {"烟草专卖零售许可证延续"}),
    ("qualifier", "社保卡坏了换张新的", {"社会保障卡补领、换领、换发"}),
    ("qualifier", "医师职业证书遗失", {"医师执业证书遗失补办"}),
    ("qualifier", "食品经营许可证改名字", {"食品(含保健食品)经营许可变更经营者名称"}),
    ("qualifier", "网吧关门了", {"互联网上网服务营业场所经营单位注销审批"}),
    ("qualifier", "拖拉机架驶证过期了", {"拖拉机联合收割机驾驶证期满换证"}),
    ("qualifier", "第一次申请取水许可证", {"取水许可证新办审批"}),
    # a specific term naming one item + a generic word matching many
    ("specific_vs_generic", "开锁公司备案", {"开锁业备案"}),
    ("specific_vs_generic", "旅行社分社备案", {"旅行社设立分社备案"}),
    ("specific_vs_generic", "商场促销备案", {"零售商促销备案"}),
    ("specific_vs_generic", "采伐许可证", {"林木采伐许可证核发（县级权限）"}),
    ("specific_vs_generic", "排水许可证", {"城镇污水排入排水管网许可"}),
    ("specific_vs_generic", "老年优待证申领", {"申领《四川省老年人优待证》"}),
    ("specific_vs_generic", "完税证明", {"开具税收完税证明（县级行使）"}),
    ("specific_vs_generic", "渔船登记", {"渔业船舶登记"}),
    # the department tells the item from its look-alikes of other departments
    ("department", "医保局 职工参保", {"职工参保登记"}),
    ("department", "残联 辅助器具申请", {"残疾人基本型辅助器具适配申请"}),
    ("department", "林业局 调运检疫证", {"省内调运林草植物检疫证书新办核发（县级权限）"}),
    ("department", "税务局 信用修复", {"纳税信用修复（县级行使）"}),
    ("department", "住建 古树名木保护方案备案", {"建设项目古树名木保护方案备案（住建行使）"}),
    ("department", "水务局 招投标投诉", {"水利工程建设项目招投标活动投诉受理及处理"}),
    ("department", "人社局 企业注销", {"企业注销社会保险登记"}),
    ("department", "生态环境局 应急预案备案", {"突发环境事件应急预案备案"}),
    # English
    ("english", "licence to sell cigarettes", {"烟草专卖零售许可证新办"}),
    ("english", "replace my lost identity card", {"居民身份证挂失申报、丢失招领", "居民身份证办理（包括临时）"}),
    ("english", "unemployment benefits", {"失业保险金申领"}),
    ("english", "public rental housing application", {"公共租赁住房申请资格审核认定"}),
    ("english", "license for a restaurant", {"食品(含保健食品)经营许可核发"}),
    ("english", "police clearance certificate", {"无犯罪记录证明"}),
    ("english", "hospitalisation reimbursement", {"住院费用报销"}),
    ("english", "APPLY FOR A PASSPORT", {"普通护照签发"}),
]  # fmt: skip
