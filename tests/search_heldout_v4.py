"""The fourth held-out relevance set: 120 queries over the 1,135 real items of 广安区, and a
set of 30 common needs for province-wide search over the seed catalogue.

How it was written: on 2026-12-06, finished before 14:45 UTC, from the item lists alone
(../shared/data/items_guangan.json: names and departments; seed/catalogue_entries.json:
names), before any query of it was run through search and before any ranking code of this
round was changed. Every expected item was chosen from the data: the item a citizen asking
this wants, not what an engine returns. Where several items are equally right, all are
accepted. The sets were checked by program only for overlap with the older suites (no
query shared) and for names that exist.

Never edit a query or an expected answer after results have been seen: the figures are
printed by tests/search/test_search_heldout_v4.py, misses are not shown. A judgment found to
be wrong on the data itself (a name that does not exist fails the integrity test) may only be
corrected with a note in the commit of why, before any tuning that uses it.

Kinds:
- ``typo``: a certificate or licence name with one character replaced by one of the same
  sound (证 → 正, 记 → 纪) or of a similar shape (伐 → 代, 准 → 淮);
- ``abbreviation``: an abbreviation of an insurance or social-security term (社保, 医保,
  居保, 职保, 失业金, 工伤, 生育险, 个账) followed by what the citizen wants done;
- ``everyday``: an everyday description of a need that never names the licence or the item
  (what a small shop needs to sell cigarettes, what a barber needs, whether cutting one's own
  tree needs approval);
- ``name``: ordinary names, as an item is usually called, shortened or whole.
"""

from __future__ import annotations

KINDS = ("typo", "abbreviation", "everyday", "name")

# (kind, query, names a citizen wants among the top 3)
HELDOUT_V4_GUANGAN: list[tuple[str, str, set[str]]] = [
    # same-sound / same-shape typos of certificate and licence names
    ("typo", "无犯罪纪录证明", {"无犯罪记录证明"}),
    ("typo", "身份证挂矢", {"居民身份证挂失申报、丢失招领"}),
    ("typo", "残疾人正换领", {"残疾人证换领"}),
    ("typo", "烟草专买零售许可证", {"烟草专卖零售许可证新办"}),
    ("typo", "林木采代许可证", {"林木采伐许可证核发（县级权限）"}),
    ("typo", "犬类淮养证", {"犬类准养证核发"}),
    ("typo", "取水许可正新办", {"取水许可证新办审批"}),
    ("typo", "教师资格证书补法", {"教师资格证书补发、换发"}),
    ("typo", "医师执业证书遗矢", {"医师执业证书遗失补办"}),
    ("typo", "燃汽经营许可证延续", {"燃气经营许可证延续"}),
    ("typo", "食品经营许可正", {"食品(含保健食品)经营许可核发"}),
    ("typo", "公共场所卫生许可正", {"公共场所卫生许可新办审批（县级）"}),
    ("typo", "娱乐经营许可正", {"设立歌舞娱乐场所《娱乐经营许可证》核发",
                                "设立游艺娱乐场所《娱乐经营许可证》核发"}),
    ("typo", "营业性演出许可正", {"设立文艺表演团体《营业性演出许可证》核发"}),
    ("typo", "烟花暴竹经营许可证", {"烟花爆竹经营（零售）许可证核发"}),
    ("typo", "建筑工程施工许可征", {"建筑工程施工许可证核发"}),
    ("typo", "乡村建设规画许可证", {"乡村建设规划许可证核发"}),
    ("typo", "渔业铺捞许可", {"渔业捕捞许可审批"}),
    ("typo", "水域滩涂养植证", {"水域滩涂养殖证的审核"}),
    ("typo", "放射工作人员正", {"放射工作人员证办理"}),
    ("typo", "动物诊疗许可症", {"动物诊疗许可"}),
    ("typo", "养蜂正申领", {"养蜂证申领"}),
    ("typo", "售药经营许可证", {"兽药经营许可证核发（普通兽药）"}),
    ("typo", "农要经营许可证", {"农药经营许可证核发（其他农药）"}),
    ("typo", "拖拉机驾使证初次申领", {"拖拉机/联合收割机驾驶证初次申领"}),
    ("typo", "结婚正补领", {"补领结婚证"}),
    ("typo", "出声医学证明", {"《出生医学证明》首次签发"}),
    ("typo", "预防接种正", {"《预防接种证》办理"}),
    ("typo", "网络预约出租汽车运输正", {"网络预约出租汽车运输证发放（新增）"}),
    ("typo", "居住正办理", {"居住证办理"}),
    ("typo", "老年人优代证", {"申领《四川省老年人优待证》"}),
    ("typo", "旅馆业特种行业许可正", {"旅馆业特种行业许可证核发"}),
    # abbreviations of insurance / social-security terms, then an action
    ("abbreviation", "社保关系转移", {"企业职工基本养老保险关系转移接续申请",
                                      "城乡居民基本养老保险关系转移接续申请",
                                      "基本医疗保险关系转移接续"}),
    ("abbreviation", "医保住院报销", {"住院费用报销"}),
    ("abbreviation", "医保转移接续", {"基本医疗保险关系转移接续"}),
    ("abbreviation", "养老认证", {"养老保险定期待遇领取资格认证"}),
    ("abbreviation", "居保参保", {"城乡居民基本养老保险参保登记"}),
    ("abbreviation", "居保待遇申领", {"城乡居民基本养老保险待遇申领"}),
    ("abbreviation", "职保提前退休", {"企业职工基本养老保险提前退休申请"}),
    ("abbreviation", "职保正常退休申请", {"企业职工基本养老保险正常退休申请"}),
    ("abbreviation", "职工医保参保", {"职工参保登记"}),
    ("abbreviation", "居民医保参保", {"城乡居民参保登记"}),
    ("abbreviation", "居民医保信息变更", {"城乡居民参保信息变更登记"}),
    ("abbreviation", "失业金申领", {"失业保险金申领"}),
    ("abbreviation", "失业金转移", {"失业保险金发放关系转移"}),
    ("abbreviation", "工伤报销", {"工伤医疗（康复）费用申报"}),
    ("abbreviation", "工伤待遇认证", {"工伤保险定期待遇领取资格认证"}),
    ("abbreviation", "生育险报销", {"生育医疗费支付", "生育津贴支付"}),
    ("abbreviation", "社保补缴", {"企业职工社会保险费补缴申报", "企业职工社会保险费欠费补缴申报",
                                  "城乡居民基本养老保险费补缴申报"}),
    ("abbreviation", "社保证明打印", {"个人参保证明查询打印", "单位参保证明查询打印"}),
    ("abbreviation", "医保个账取钱", {"参保人员个人账户资金一次性支取"}),
    ("abbreviation", "养老个账一次性领取", {"企业职工基本养老保险个人账户储存额一次性申领",
                                            "机关事业单位养老保险个人账户储存额一次性申领"}),
    ("abbreviation", "电子社保卡申请", {"电子社会保障卡签发"}),
    ("abbreviation", "社保卡激活", {"社会保障卡启用（激活）"}),
    ("abbreviation", "社保卡改密码", {"社会保障卡密码修改", "社会保障卡密码重置"}),
    ("abbreviation", "社保卡换地方", {"社会保障卡参保地转移"}),
    ("abbreviation", "医保慢病认定", {"基本医疗保险参保人员享受门诊慢特病病种待遇认定"}),
    ("abbreviation", "灵活就业养老参保", {"灵活就业人员企业职工基本养老保险参保登记"}),
    ("abbreviation", "养老待遇暂停", {"暂停养老保险待遇申请"}),
    ("abbreviation", "单位社保登记", {"企业社会保险登记", "机关事业单位社会保险登记"}),
    ("abbreviation", "单位医保参保", {"单位参保登记"}),
    ("abbreviation", "职保转居保", {"企业职工基本养老保险与城乡居民基本养老保险互转申请"}),
    ("abbreviation", "养老金明细查询", {"企业职工养老金发放明细查询"}),
    ("abbreviation", "医保外出就医备案", {"其他临时外出就医人员备案", "异地转诊人员备案"}),
    # everyday descriptions that never name the licence
    ("everyday", "小超市想卖香烟需要什么手续", {"烟草专卖零售许可证新办"}),
    ("everyday", "开个剃头铺子要办什么", {"公共场所卫生许可新办审批（县级）", "乙类公共场所备案"}),
    ("everyday", "自家院子里的树能自己砍吗", {"林木采伐许可证核发（县级权限）"}),
    ("everyday", "想养条狗要登记吗", {"犬类准养证核发"}),
    ("everyday", "开个宾馆要办什么证", {"旅馆业特种行业许可证核发", "公共场所卫生许可新办审批（县级）"}),
    ("everyday", "想开个KTV", {"设立歌舞娱乐场所《娱乐经营许可证》核发"}),
    ("everyday", "开个游戏厅要什么手续", {"设立游艺娱乐场所《娱乐经营许可证》核发"}),
    ("everyday", "过年卖鞭炮要什么证", {"烟花爆竹经营（零售）许可证核发"}),
    ("everyday", "在河里挖沙子要批吗", {"河道采砂许可"}),
    ("everyday", "去河里打鱼要办证吗", {"渔业捕捞许可审批"}),
    ("everyday", "药店想刷医保卡", {"零售药店申请定点协议管理"}),
    ("everyday", "给猫狗看病的诊所要什么证", {"动物诊疗许可"}),
    ("everyday", "开游泳馆要什么证", {"经营游泳许可"}),
    ("everyday", "晚上工地还要施工", {"夜间建筑施工许可"}),
    ("everyday", "在马路上挖开埋管子", {"占用、挖掘城市道路审批"}),
    ("everyday", "店门口挂个大招牌", {"规范户外招牌设施设置", "设置大型户外广告的审批"}),
    ("everyday", "农村自己盖房子要审批吗", {"乡村建设规划许可证核发"}),
    ("everyday", "想开家刻公章的店", {"公章刻制业特种行业许可证核发"}),
    ("everyday", "想跑出租车要办什么", {"巡游出租汽车经营许可", "巡游出租汽车道路运输证核发（新增）"}),
    ("everyday", "搞个养猪场要办啥", {"畜禽养殖场、养殖小区备案",
                                      "动物防疫条件合格证核发（动物饲养场、养殖小区和动物屠宰加工场）"}),
    ("everyday", "上山烧荒要批准吗", {"森林防火期内在森林防火区野外用火活动审批"}),
    ("everyday", "孩子跟着打工的爸妈在城里读书", {"进城务工人员随迁子女接受义务教育入学申请办理"}),
    ("everyday", "家里老人八十多岁了有钱领吗", {"80周岁以上老年人高龄津贴发放"}),
    ("everyday", "在家做卤菜拿出去卖", {"食品小作坊备案发放"}),
    ("everyday", "开个只卖零食饮料的小店", {"仅销售预包装食品经营者备案信息采集", "食品小经营店备案发放"}),
    ("everyday", "住房困难租房有补贴吗", {"住房保障家庭租赁补贴发放", "公共租赁住房申请资格审核认定"}),
    ("everyday", "街上流浪乞讨的人谁管", {"城市生活无着流浪乞讨人员救助"}),
    ("everyday", "在路边捡到一个小孩", {"捡拾弃婴（儿童）报案证明"}),
    ("everyday", "当兵复员回来去哪报到", {"退役报到"}),
    ("everyday", "想开个电影院", {"电影放映单位设立审批（内资）"}),
    ("everyday", "搞活动放氢气球要批吗", {"升放无人驾驶自由气球或者系留气球活动审批"}),
    ("everyday", "卖香菇菌种要什么证", {"食用菌菌种生产经营许可证核发（栽培种）",
                                        "食用菌菌种生产经营许可证核发（母种和原种）"}),
    ("everyday", "把树苗运到外省去卖", {"省际间调运林草植物检疫证书新办核发"}),
    # ordinary names
    ("name", "个体工商户注销", {"个体工商户注销登记"}),
    ("name", "公司注销", {"公司注销登记"}),
    ("name", "户口迁移审批", {"户口迁移审批"}),
    ("name", "集体户口", {"集体户口管理"}),
    ("name", "离婚登记预约", {"离婚登记预约"}),
    ("name", "供电报装", {"供电报装"}),
    ("name", "临时救助", {"临时救助"}),
    ("name", "特困人员救助供养", {"特困人员救助供养"}),
    ("name", "孤儿基本生活费", {"孤儿救助资格认定及基本生活费发放"}),
    ("name", "重度残疾人护理补贴", {"重度残疾人护理补贴"}),
    ("name", "困难残疾人生活补贴", {"困难残疾人生活补贴"}),
    ("name", "教师资格认定", {"教师资格认定"}),
    ("name", "医师执业注册", {"医师新办执业注册"}),
    ("name", "护士执业注册", {"护士新办执业注册"}),
    ("name", "商品房预售许可", {"商品房预售许可"}),
    ("name", "校车使用许可", {"校车使用许可"}),
    ("name", "居住证", {"居住证办理"}),
    ("name", "预备役登记", {"预备役登记"}),
    ("name", "无欠税证明开具", {"开具无欠税证明"}),
    ("name", "增值税一般纳税人登记", {"增值税一般纳税人登记（县级行使）"}),
    ("name", "发票领用", {"发票领用(县级行使）"}),
    ("name", "古树名木移植", {"古树名木移植审批"}),
    ("name", "公租房资格申请", {"公共租赁住房申请资格审核认定"}),
    ("name", "退役士兵一次性经济补助", {"退役士兵自主就业一次性经济补助金的给付"}),
    ("name", "亲属关系证明", {"亲属关系证明"}),
]  # fmt: skip


# (need, the catalogue entry a citizen means): province-wide search over the seed catalogue,
# no region; each entry must appear once and the meant entry first
PROVINCE_NEEDS: list[tuple[str, str]] = [
    ("孩子办身份证", "居民身份证首次申领"),
    ("身份证掉了", "居民身份证补领"),
    ("身份证到期换新的", "居民身份证换领"),
    ("办护照", "普通护照签发"),
    ("去香港澳门旅游办证", "往来港澳通行证及签注签发"),
    ("第一次考驾照", "机动车驾驶证初次申领"),
    ("驾照过期了换证", "机动车驾驶证期满换证"),
    ("驾驶证丢了补办", "机动车驾驶证遗失补证"),
    ("领结婚证", "内地居民结婚登记"),
    ("办离婚", "内地居民离婚登记"),
    ("结婚证丢了补领", "补领婚姻登记证"),
    ("新生儿上户口", "出生登记"),
    ("领养孩子", "收养登记"),
    ("申请低保", "最低生活保障金给付"),
    ("办社保卡", "社会保障卡申领"),
    ("到年龄了办退休", "职工正常退休（职）申请及基本养老金待遇核定"),
    ("领失业金", "失业保险金申领"),
    ("外地看病备案", "异地就医备案"),
    ("领生育津贴", "生育津贴支付"),
    ("买了房想把公积金取出来", "购买自住住房提取住房公积金"),
    ("公积金贷款买房", "住房公积金个人住房贷款"),
    ("开饭店办证", "食品经营许可"),
    ("开药店", "药品零售企业经营许可"),
    ("考教师资格证", "教师资格认定"),
    ("孩子的出生证明", "出生医学证明签发"),
    ("个税年度汇算", "个人所得税综合所得年度汇算"),
    ("买房交契税", "契税征收"),
    ("办残疾证", "残疾人证核发"),
    ("退伍军人办优待证", "退役军人优待证申领"),
    ("老人领高龄津贴", "黑龙江省高龄老人津贴发放"),
]
