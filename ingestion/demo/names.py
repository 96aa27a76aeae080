"""Name pools and vectorised builders for people, companies, e-mails and phone numbers.

Chinese names are written in Han script (with a pinyin spelling for e-mail addresses);
Latin names include a few with apostrophes (O'Brien) and company names with commas and
quotes, so the pipeline's CSV handling and Unicode pass-through get exercised.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CN_SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("欧阳", "ouyang"),
    ("司马", "sima"),
]
CN_GIVEN = [
    ("伟", "wei"),
    ("娜", "na"),
    ("静", "jing"),
    ("敏", "min"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("丽", "li"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂英", "guiying"),
    ("晓东", "xiaodong"),
    ("建华", "jianhua"),
    ("雪梅", "xuemei"),
    ("志强", "zhiqiang"),
    ("海燕", "haiyan"),
    ("子涵", "zihan"),
    ("宇轩", "yuxuan"),
    ("思远", "siyuan"),
    ("梓萱", "zixuan"),
]
LATIN_FIRST = [
    "James",
    "Mary",
    "Michael",
    "Linda",
    "David",
    "Sarah",
    "Thomas",
    "Emma",
    "Daniel",
    "Sophie",
    "Lucas",
    "Olivia",
    "Mateo",
    "Chloé",
    "Noah",
    "Anna",
    "Kevin",
    "Grace",
    "Liam",
    "Zoë",
    "Ethan",
    "Hannah",
    "Ryan",
    "Isabel",
]
LATIN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Martin",
    "Lee",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Müller",
    "García",
    "O'Brien",
    "O'Neill",
    "D'Angelo",
    "O'Connor",
]

CN_CITY = [
    "上海",
    "北京",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "成都",
    "武汉",
    "西安",
    "苏州",
    "天津",
    "重庆",
    "厦门",
    "青岛",
    "长沙",
    "沈阳",
]
CN_WORD = [
    "华信",
    "恒达",
    "金桥",
    "宏远",
    "鼎盛",
    "瑞丰",
    "新世纪",
    "东方",
    "万通",
    "中科",
    "汇源",
    "嘉禾",
    "永安",
    "博雅",
    "星辰",
    "天成",
]
CN_KIND = ["电子", "机械", "贸易", "科技", "医疗器械", "物流", "能源", "化工", "食品", "建材"]
CN_SUFFIX = ["有限公司", "股份有限公司", "集团有限公司"]
LATIN_CO_A = [
    "Northwind",
    "Blue Harbor",
    "Pacific Rim",
    "Golden Gate",
    "Silverline",
    "Redwood",
    "Oak & Ivy",
    "O'Malley",
    "Summit",
    "Evergreen",
    "Lighthouse",
    "Crescent",
]
LATIN_CO_B = [
    "Trading",
    "Industrial",
    "Medical",
    "Logistics",
    "Electronics",
    "Foods",
    "Energy",
    "Systems",
]
LATIN_CO_SUFFIX = ["Co., Ltd.", "Ltd.", "Inc.", "GmbH", "Pte. Ltd.", 'Group "Asia"']


def _pick(rng: np.random.Generator, pool: list, n: int) -> np.ndarray:
    return rng.integers(0, len(pool), n)


def _take(pool: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(pool, type=pa.string()).take(pa.array(idx))


def person_names(rng: np.random.Generator, n: int, chinese_share: float = 0.65) -> tuple[pa.Array, pa.Array]:
    """Display names and ASCII e-mail local parts (``given.surname``) for n people."""
    is_cn = rng.random(n) < chinese_share
    sur = _pick(rng, CN_SURNAMES, n)
    giv = _pick(rng, CN_GIVEN, n)
    first = _pick(rng, LATIN_FIRST, n)
    last = _pick(rng, LATIN_LAST, n)
    cn_name = pc.binary_join_element_wise(
        _take([s for s, _ in CN_SURNAMES], sur), _take([g for g, _ in CN_GIVEN], giv), ""
    )
    cn_mail = pc.binary_join_element_wise(
        _take([p for _, p in CN_GIVEN], giv), _take([p for _, p in CN_SURNAMES], sur), "."
    )
    la_name = pc.binary_join_element_wise(_take(LATIN_FIRST, first), _take(LATIN_LAST, last), " ")
    la_mail = pc.binary_join_element_wise(_take(LATIN_FIRST, first), _take(LATIN_LAST, last), ".")
    mask = pa.array(is_cn)
    names = pc.if_else(mask, cn_name, la_name)
    mail = pc.utf8_lower(pc.if_else(mask, cn_mail, la_mail))
    # ASCII-fold accents (é -> e, ü -> u) and drop apostrophes: O'Brien -> obrien
    mail = pc.replace_substring_regex(pc.utf8_normalize(mail, "NFKD"), "[^a-z.]", "")
    return names, mail


def company_names(rng: np.random.Generator, n: int, chinese_share: float = 0.7) -> pa.Array:
    is_cn = rng.random(n) < chinese_share
    cn = pc.binary_join_element_wise(
        _take(CN_CITY, _pick(rng, CN_CITY, n)),
        _take(CN_WORD, _pick(rng, CN_WORD, n)),
        _take(CN_KIND, _pick(rng, CN_KIND, n)),
        _take(CN_SUFFIX, _pick(rng, CN_SUFFIX, n)),
        "",
    )
    la = pc.binary_join_element_wise(
        _take(LATIN_CO_A, _pick(rng, LATIN_CO_A, n)),
        _take(LATIN_CO_B, _pick(rng, LATIN_CO_B, n)),
        _take(LATIN_CO_SUFFIX, _pick(rng, LATIN_CO_SUFFIX, n)),
        " ",
    )
    return pc.if_else(pa.array(is_cn), cn, la)


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Vectorised ``prefix + zero-padded number`` ids, e.g. ``R0001``."""
    text = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def join(*parts: object, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def phones(rng: np.random.Generator, n: int) -> pa.Array:
    """Mainland mobile numbers formatted ``+86 1xx xxxx xxxx``."""
    prefix = np.array([130, 131, 132, 135, 136, 137, 138, 139, 150, 151, 158, 159, 186, 188])
    p = pc.cast(pa.array(prefix[rng.integers(0, len(prefix), n)]), pa.string())
    a = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10_000, n)), pa.string()), 4, "0")
    b = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10_000, n)), pa.string()), 4, "0")
    return pc.binary_join_element_wise("+86", p, a, b, " ")
