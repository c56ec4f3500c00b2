"""Examples of the OpenAPI document: one item of the seed (机动车驾驶证遗失补证 of 大庆市公安局,
seed/implementations.json) as it reads and as it is written, and the bodies around it."""

from __future__ import annotations

from typing import Any

from app.catalogue.documents import item_input

#: GET /items/{code}: the representation (what a PUT or PATCH answers too)
ITEM: dict[str, Any] = {
    "code": "11230600MB4MGBRA983000101003003",
    "version": 1,
    "status": "1",
    "basic_code": "000101003003",
    "name": "机动车驾驶证遗失补证",
    "item_type": "01",
    "domain": "01",
    "legal_basis": [
        {
            "law": "《中华人民共和国道路交通安全法》",
            "article": "第十九条",
            "text": "驾驶人应当按照驾驶证载明的准驾车型驾驶机动车。",
            "url": None,
        }
    ],
    "department": {"code": "11230600MB4MGBRA98", "name": "大庆市公安局"},
    "region": {"code": "230600", "name": "大庆市"},
    "level": "3",
    "power_source": "1",
    "body_nature": "1",
    "entrusting_department": None,
    "audience": ["1"],
    "themes": ["P095", "P090"],
    "case_type": "1",
    "guide": {
        "conditions": ["符合《机动车驾驶证申领和使用规定》规定的年龄、身体条件"],
        "legal_time_limit": {"value": 1, "unit": "working_days", "note": None},
        "promised_time_limit": {"value": 0, "unit": "working_days", "note": "当场办结"},
        "process": [
            {
                "name": "申请",
                "description": "申请人通过网上或者到窗口提交申请材料",
                "channel": "both",
                "time_limit": None,
            },
            {
                "name": "受理审核",
                "description": "大庆市公安局窗口人员对材料进行审核，材料齐全、符合条件的当场受理",
                "channel": "both",
                "time_limit": None,
            },
            {
                "name": "办结",
                "description": "当场办结并告知结果或出具结果",
                "channel": "both",
                "time_limit": {"value": 0, "unit": "working_days", "note": "即来即办"},
            },
        ],
        "online": {
            "available": True,
            "depth": ["咨询", "收件", "预审", "受理", "结果反馈"],
            "url": "https://hl.122.gov.cn",
        },
        "visits": 0,
        "windows": [
            {
                "name": "大庆市公安局交通警察支队车辆管理所",
                "address": "大庆市让胡路区西宾路46号",
                "hours": "周一至周五 8:30-11:30，13:30-17:00；周六上午9:00-12:00延时服务（法定节假日除外）",
                "phone": "0459-62809096",
                "traffic": "乘坐12路、27路公交车至政务服务中心站下车",
                "map_url": None,
            }
        ],
        "consultation": [
            {
                "phone": "0459-62809096",
                "address": "大庆市让胡路区西宾路46号",
                "url": None,
                "email": None,
                "note": "大庆市公安局窗口现场咨询",
            },
            {
                "phone": "12345",
                "address": None,
                "url": "https://zwfw.hlj.gov.cn",
                "email": None,
                "note": "黑龙江省12345政务服务便民热线",
            },
        ],
        "complaint": [
            {
                "phone": "12345",
                "address": None,
                "url": None,
                "email": None,
                "note": "12345政务服务便民热线受理投诉",
            },
            {
                "phone": "0459-62803830",
                "address": None,
                "url": "https://zwfw.hlj.gov.cn/hcp",
                "email": None,
                "note": "大庆市营商环境建设监督局（好差评、投诉受理）",
            },
        ],
        "results": [{"type": "证照", "name": "中华人民共和国机动车驾驶证", "sample": None}],
        "charges_fee": True,
        "special_procedures": [],
        "remedies": {
            "administrative_review": "对办理结果不服的，可以自知道该行为之日起六十日内向大庆市人民政府申请行政复议",
            "administrative_litigation": "也可以自知道或者应当知道作出行政行为之日起六个月内依法向人民法院提起行政诉讼",
        },
        "faq": [
            {
                "question": "可以通过交管12123办理吗？",
                "answer": "期满换证、遗失补证均可通过“交管12123”App在线申请，新证邮寄到家。",
            },
            {
                "question": "在大庆市哪里办理？",
                "answer": "可到大庆市公安局交通警察支队车辆管理所（大庆市让胡路区西宾路46号）办理，办公时间：周一至周五 "
                "8:30-11:30，13:30-17:00；周六上午9:00-12:00延时服务（法定节假日除外）。也可以通过网上办理。",
            },
        ],
        "intermediary_services": [],
        "joint_bodies": [],
        "prerequisite_items": [],
    },
    "materials": [
        {
            "code": "11230600MB4MGBRA983000101003003001",
            "position": 1,
            "shared_material": "SM0001",
            "name": "居民身份证",
            "material_type": "原件",
            "form": "纸质和电子",
            "originals": 1,
            "copies": 0,
            "paper_size": None,
            "necessity": "1",
            "source": "20",
            "source_note": None,
            "blank_form": None,
            "sample": None,
            "instructions": None,
            "acceptance_standard": "真实有效、信息清晰；可通过黑龙江省电子证照库调取居民身份证电子证照的，免于提交纸质材料",
            "legal_basis": None,
            "signature_requirement": None,
            "applies_when": None,
            "licence_type": "居民身份证电子证照",
        },
        {
            "code": "11230600MB4MGBRA983000101003003002",
            "position": 2,
            "shared_material": None,
            "name": "驾驶证遗失声明",
            "material_type": "原件",
            "form": "纸质",
            "originals": 1,
            "copies": 0,
            "paper_size": None,
            "necessity": "1",
            "source": "10",
            "source_note": None,
            "blank_form": None,
            "sample": None,
            "instructions": None,
            "acceptance_standard": None,
            "legal_basis": None,
            "signature_requirement": "申请人本人签字",
            "applies_when": None,
            "licence_type": None,
        },
    ],
    "fees": [
        {
            "code": "11230600MB4MGBRA983000101003003F001",
            "position": 1,
            "name": "机动车驾驶证工本费",
            "standard": "每证10元",
            "legal_basis": "《国家发展改革委 财政部关于公安部门收取机动车号牌工本费等收费标准及有关问题的通知》（发改价格〔2004〕2831号）",
            "waivable": False,
            "waiver_basis": None,
        }
    ],
    "local_code": None,
    "source_system": None,
    "delegated_from": None,
    "handover_date": None,
    "created_at": "2026-12-01T21:59:20.365254+00:00",
    "updated_at": "2026-12-01T21:59:20.365635+00:00",
    "updated_by": "seed",
    "lifecycle": None,
    "scheduled": [],
    "upcoming": [],
}

#: POST /items, PUT /items/{code}: the writable representation (GET's answer is accepted
#: back as well: the fields the catalogue assigns, unchanged, and department and region as
#: ``{code, name}``)
ITEM_BODY: dict[str, Any] = {k: v for k, v in item_input(ITEM).items() if k != "version"}

CODE = ITEM["code"]

DECISION = {
    "number": "黑政规〔2026〕9号",
    "title": "黑龙江省人民政府关于调整一批政务服务事项的决定",
    "url": "https://www.hlj.gov.cn/zwgk/2026/9.html",
}

#: the body of each lifecycle event, by the path's last segment
LIFECYCLE: dict[str, dict[str, Any]] = {
    "cancel": {
        "decision": DECISION,
        "reason": "补证与换证合并办理，本事项取消",
        "effective_date": "2027-01-01",
    },
    "suspend": {
        "decision": DECISION,
        "reason": "车辆管理所系统升级，暂停受理",
        "effective_date": "2027-01-01",
    },
    "resume": {
        "decision": DECISION,
        "reason": "系统升级完成，恢复受理",
        "effective_date": "2027-01-08",
    },
    "delegate": {
        "decision": DECISION,
        "reason": "下放至萨尔图分局办理",
        "effective_date": "2027-01-01",
        "mode": "delegate",
        "handover_date": "2027-03-01",
        "to": [{"department": "11230602MBB8CYGM8E", "region": "230602"}],
    },
    "accept": {
        "decision": DECISION,
        "reason": "承接下放事项",
        "effective_date": "2027-03-01",
        "guide": {"windows": ITEM["guide"]["windows"]},
    },
    "reclaim": {"decision": DECISION, "reason": "收回下放事项", "effective_date": "2027-06-01"},
    "merge": {
        "decision": DECISION,
        "reason": "合并至机动车驾驶证换证",
        "effective_date": "2027-01-01",
        "into": "11230600MB4MGBRA983000101003002",
    },
    "reinstate": {"decision": DECISION, "reason": "恢复本事项", "effective_date": "2027-02-01"},
}

#: POST /items/{code}/cancel (and the other events) answers
EVENT_OUT: dict[str, Any] = {
    "code": CODE,
    "version": 2,
    "event": "cancel",
    "status_after": "3",
    "effective_date": "2027-01-01",
    "created": [],
}

#: POST /sync/items: items with the version their sender last saw
BULK_BODY: list[dict[str, Any]] = [{**ITEM_BODY, "code": CODE, "version": 1}]

BULK_RESULT: dict[str, Any] = {
    "created": 0,
    "updated": 1,
    "unchanged": 0,
    "conflict": 0,
    "rejected": 0,
    "items": [{"index": 0, "code": CODE, "result": "updated", "version": 2, "errors": []}],
}

#: GET /changes
CHANGES: dict[str, Any] = {
    "changes": [
        {
            "seq": 258,
            "kind": "item",
            "code": CODE,
            "version": 1,
            "operation": "create",
            "event": "create",
            "recorded_at": ITEM["created_at"],
            "effective_date": ITEM["created_at"][:10],
            "decision": None,
            "reason": None,
            "key": "seed",
            "status_after": "1",
            "details": None,
            "next_change": None,
            "approved_by": None,
            "channel": "direct",
            "change_request": None,
            "item": ITEM,
            "record": None,
        }
    ],
    "last_seq": 258,
    "head_seq": 553,
}

#: POST /change-requests: an edit as a merge patch, and a lifecycle event
CHANGE_REQUESTS: dict[str, dict[str, Any]] = {
    "edit": {
        "item": CODE,
        "kind": "edit",
        "patch": {"guide": {"windows": [{**ITEM["guide"]["windows"][0], "phone": "0459-6280909"}]}},
        "note": "车管所咨询电话变更",
    },
    "cancel": {
        "item": CODE,
        "kind": "cancel",
        "body": LIFECYCLE["cancel"],
        "note": "按省政府决定取消",
    },
}

#: POST /items/{code}/corrections
CORRECTION: dict[str, Any] = {
    "field": "guide.windows.0.phone",
    "suggested": "0459-6280909",
    "text": "窗口电话打不通，车管所大厅公示的号码是0459-6280909",
    "contact": None,
}

CORRECTION_CREATED: dict[str, Any] = {
    "ticket": "Y98Uqe-9CuKqQkJFdC7k7A",
    "status_url": "/api/v1/corrections/Y98Uqe-9CuKqQkJFdC7k7A",
}
