"""The second held-out relevance set (issue 17): queries in the classes where search fails
citizens, with the items a citizen asking them wants among the top 3.

How it was written: on 2026-12-01, before any of issue 17's tuning and without running a
single query through search. Every expected item was chosen from the catalogue data alone
(seed/catalogue_entries.json, seed/implementations.json and seed/departments.json for the
seed; ../shared/data/items_guangan.json for 广安区): the item a citizen asking this wants,
not what the engine returns. Where several items are equally right, all are accepted.

Never edit a query or an expected answer after results have been seen: misses are printed
by tests/test_search_heldout_v2.py, they are not fixed here. A judgment that is found to
be wrong on the data itself (a name that does not exist fails the integrity test) may only
be corrected together with a note in the commit of why, and before any tuning that uses it.

Classes (issue 17):
- ``everyday``: everyday words that are in no item's name (药店, 过户, 宾馆, 砍树 …);
- ``qualifier``: 新办 / 补办 / 换领 / 变更 / 注销 / 延续 must choose that variant, some with a
  typo in the rest of the query;
- ``specific_vs_generic``: two parts, a specific term naming one item and a generic word
  (备案, 许可证, 申领 …) that matches many;
- ``department``: a department shortcut (人社, 医保, 市监, 公积金中心, 残联 …) plus what; the
  shortcut is what tells the right item from its look-alikes of other departments;
- ``english``: English (and full-width Latin) for common services.

``hygiene`` (a merged 已合并 or superseded item never above the item it points to) has no
queries: neither the seed (no implementation has a status other than in force, no entry
points to a successor) nor the 广安区 listing (no status field, no item marked merged or
replaced) holds such an item, so it is left to a behaviour test that creates a merge.

Seed queries run through the search service without a region (the column is kept for the
layout of tests/search_heldout.py); 广安区 queries run on its 1,135 real items (skipped when
the file is absent).
"""

from __future__ import annotations

CLASSES = ("everyday", "qualifier", "specific_vs_generic", "department", "english")

# (style, query, region or None, names a citizen wants among the top 3)
HELDOUT_V2_SEED: list[tuple[str, str, str | None, set[str]]] = [
    # everyday words that are in no item's name
    ("everyday", "出国要办的证", None, {"普通护照签发"}),
    ("everyday", "去香港旅游办证", None, {"往来港澳通行证及签注签发"}),
    ("everyday", "喝酒开车被抓了", None, {"对饮酒后驾驶机动车的处罚"}),
    ("everyday", "的哥上岗证", None, {"出租汽车驾驶员从业资格证核发"}),
    ("everyday", "想开一家药店", None, {"药品零售企业经营许可"}),
    ("everyday", "二手房过户", None, {"不动产转移登记"}),
    ("everyday", "休产假的工资", None, {"生育津贴支付"}),
    ("everyday", "当老师要拿什么证", None, {"教师资格认定"}),
    ("everyday", "老人过世办后事能减免吗", None, {"惠民殡葬基本服务费用减免"}),
    ("everyday", "家里穷申请救济金", None, {"最低生活保障金给付"}),
    # the qualifier chooses the variant (身分/身份正/驾使/质照/结昏: typos in the rest)
    ("qualifier", "新办身份证", None, {"居民身份证首次申领"}),
    ("qualifier", "身分证换领", None, {"居民身份证换领"}),
    ("qualifier", "身份正补办", None, {"居民身份证补领"}),
    ("qualifier", "驾驶证补办", None, {"机动车驾驶证遗失补证"}),
    ("qualifier", "驾使证换领", None, {"机动车驾驶证期满换证"}),
    ("qualifier", "新办驾照", None, {"机动车驾驶证初次申领"}),
    ("qualifier", "营业执照注销", None, {"市场主体注销登记"}),
    ("qualifier", "营业质照变更", None, {"市场主体变更登记"}),
    ("qualifier", "新办营业执照", None, {"市场主体设立登记"}),
    ("qualifier", "补办结昏证", None, {"补领婚姻登记证"}),
    # a specific term and a generic one
    ("specific_vs_generic", "离退休 公积金", None, {"离退休提取住房公积金"}),
    ("specific_vs_generic", "危险化学品 许可证", None, {"危险化学品经营许可"}),
    ("specific_vs_generic", "律师 执业证", None, {"律师执业许可"}),
    ("specific_vs_generic", "护士 注册", None, {"护士执业注册"}),
    ("specific_vs_generic", "抵押 不动产登记", None, {"不动产抵押登记"}),
    ("specific_vs_generic", "农药 经营许可", None, {"农药经营许可"}),
    ("specific_vs_generic", "丧葬 补助金", None, {"参保人员死亡丧葬补助金和抚恤金申领"}),
    ("specific_vs_generic", "残疾人 就业保障金", None, {"残疾人就业保障金征收"}),
    ("specific_vs_generic", "货物 运输许可", None, {"道路货物运输经营许可"}),
    ("specific_vs_generic", "代理记账 审批", None, {"代理记账机构审批"}),
    # a department shortcut plus what
    ("department", "人社 丧葬费", None, {"参保人员死亡丧葬补助金和抚恤金申领"}),
    ("department", "医保 生育", None, {"生育医疗费用支付", "生育津贴支付"}),
    ("department", "公积金中心 贷款", None, {"住房公积金个人住房贷款"}),
    ("department", "残联 办证", None, {"残疾人证核发"}),
    ("department", "市监局 注册公司", None, {"市场主体设立登记"}),
    ("department", "卫健 开医院", None, {"医疗机构执业许可"}),
    ("department", "住建 开工", None, {"建筑工程施工许可证核发"}),
    ("department", "退役军人事务局 补助", None, {"自主就业退役士兵一次性经济补助金给付"}),
    ("department", "教育局 报名", None, {"义务教育阶段新生入学"}),
    ("department", "交通局 货运", None, {"道路货物运输经营许可"}),
    # English and other scripts
    ("english", "passport", None, {"普通护照签发"}),
    ("english", "lost ID card", None, {"居民身份证补领"}),
    ("english", "driving licence renewal", None, {"机动车驾驶证期满换证"}),
    ("english", "marriage registration", None, {"内地居民结婚登记"}),
    ("english", "Ｄｉｖｏｒｃｅ", None, {"内地居民离婚登记"}),
    ("english", "business licence", None, {"市场主体设立登记"}),
    ("english", "social security card", None, {"社会保障卡申领"}),
    ("english", "housing provident fund loan", None, {"住房公积金个人住房贷款"}),
    ("english", "birth certificate", None, {"出生医学证明签发"}),
    ("english", "adoption registration", None, {"收养登记"}),
]  # fmt: skip

# (style, query, names a citizen wants among the top 3)
HELDOUT_V2_GUANGAN: list[tuple[str, str, set[str]]] = [
    # everyday words that are in no item's name
    ("everyday", "新店铺拉电", {"供电报装"}),
    ("everyday", "打疫苗的小本本", {"《预防接种证》办理"}),
    ("everyday", "开个卡拉OK歌厅", {"设立歌舞娱乐场所《娱乐经营许可证》核发"}),
    ("everyday", "开家小宾馆", {"旅馆业特种行业许可证核发"}),
    ("everyday", "砍自家山上的树", {"林木采伐许可证核发（县级权限）"}),
    ("everyday", "小区电梯坏了用维修基金", {"住宅专项维修资金使用备案"}),
    ("everyday", "过年卖鞭炮", {"烟花爆竹经营（零售）许可证核发"}),
    ("everyday", "开书店", {"出版物零售单位和个体工商户设立审批"}),
    ("everyday", "证明我和我妈是母女", {"亲属关系证明"}),
    ("everyday", "开宠物医院", {"动物诊疗许可"}),
    ("everyday", "在路边摆摊", {"临时便民服务摊点设置"}),
    ("everyday", "孩子转学", {"义务教育阶段学生学籍异动办理", "义务教育阶段学生学籍异动政策咨询"}),
    # the qualifier chooses the variant (专买/燃汽/卫升/残急: typos in the rest)
    ("qualifier", "烟草证延续", {"烟草专卖零售许可证延续"}),
    ("qualifier", "烟草专买零售许可证变更", {"烟草专卖零售许可证变更"}),
    ("qualifier", "食品经营许可证注销", {"食品(含保健食品)经营许可注销"}),
    ("qualifier", "食品经营许可补办", {"食品(含保健食品)经营许可补办"}),
    ("qualifier", "燃汽经营许可证新办", {"燃气经营许可证新办"}),
    ("qualifier", "公共场所卫升许可延续", {"公共场所卫生许可延续（县级）"}),
    ("qualifier", "护士执业证书补办", {"护士执业证书遗失补办"}),
    ("qualifier", "社保卡注销", {"社会保障卡注销"}),
    ("qualifier", "残急人证注销", {"残疾人证注销"}),
    ("qualifier", "网约车运输证换领", {"网络预约出租汽车运输证发放（换发）"}),
    ("qualifier", "医师执业证变更", {"医师执业证书变更"}),
    ("qualifier", "劳务派遣许可证延续", {"劳务派遣经营许可证延续审批(县级)"}),
    # a specific term and a generic one
    ("specific_vs_generic", "开锁 备案", {"开锁业备案"}),
    ("specific_vs_generic", "旧手机 备案", {"旧手机交易业备案"}),
    ("specific_vs_generic", "古树名木 认定", {"古树名木认定"}),
    ("specific_vs_generic", "病残津贴 申领", {"病残津贴申领"}),
    ("specific_vs_generic", "雷电防护装置 验收", {"雷电防护装置竣工验收"}),
    ("specific_vs_generic", "零就业家庭 认定", {"零就业家庭认定申请"}),
    ("specific_vs_generic", "无欠税 证明", {"开具无欠税证明"}),
    ("specific_vs_generic", "门诊慢特病 认定", {"基本医疗保险参保人员享受门诊慢特病病种待遇认定"}),
    ("specific_vs_generic", "校车 许可", {"校车使用许可"}),
    ("specific_vs_generic", "遗属待遇 申领", {"遗属待遇申领"}),
    ("specific_vs_generic", "河道采砂 许可证", {"河道采砂许可"}),
    # a department shortcut plus what
    ("department", "医保 报销", {"门诊费用报销", "住院费用报销", "医疗救助对象手工（零星）报销"}),
    ("department", "市监 调解", {"消费纠纷调解", "对计量纠纷进行调解及仲裁检定"}),
    ("department", "民政局 救助", {"临时救助", "特困人员救助供养", "城市生活无着流浪乞讨人员救助",
                                   "孤儿救助资格认定及基本生活费发放"}),
    ("department", "残联 康复", {"残疾儿童康复训练申请"}),
    ("department", "税务局 证明", {"开具无欠税证明", "开具税收完税证明（县级行使）",
                                   "中国税收居民身份证明的开具（县级行使）",
                                   "开具个人所得税纳税记录（县级行使）"}),
    ("department", "退役军人事务局 报到", {"退役报到"}),
    ("department", "医保 异地", {"常驻异地工作人员备案", "异地安置退休人员备案",
                                 "异地长期居住人员备案", "异地转诊人员备案",
                                 "其他临时外出就医人员备案"}),
    ("department", "人社 异地就医", {"工伤异地就医申请", "转诊转院到异地就医申请"}),
    ("department", "民政 补贴", {"重度残疾人护理补贴", "困难残疾人生活补贴",
                                 "事实无人抚养儿童认定及基本生活补贴发放"}),
    ("department", "司法局 补贴", {"法律援助补贴发放", "人民调解员补贴发放"}),
    # English and other scripts
    ("english", "residence permit", {"居住证办理"}),
    ("english", "ID card", {"居民身份证办理（包括临时）"}),
    ("english", "passport application", {"普通护照签发"}),
    ("english", "certificate of no criminal record", {"无犯罪记录证明"}),
    ("english", "marriage registration", {"中国内地公民婚姻登记", "结婚登记预约"}),
    ("english", "business license", {"公司设立登记", "个体工商户设立登记", "个人独资企业设立登记",
                                     "合伙企业设立登记"}),
    ("english", "food business license", {"食品(含保健食品)经营许可核发"}),
    ("english", "dog license", {"犬类准养证核发"}),
    ("english", "social security card password", {"社会保障卡密码重置", "社会保障卡密码修改"}),
    ("english", "vaccination certificate", {"《预防接种证》办理"}),
]  # fmt: skip
