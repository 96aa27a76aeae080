"""UI strings, KPI and perspective names of the HTML report in English and Simplified Chinese.

Codes (KPI codes, rep and team ids, tier codes) and data column names stay English; only
the human labels around them are translated. ``translator(lang)`` is the entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SUPPORTED_LANGS: tuple[str, ...] = ("en", "zh-CN")
DEFAULT_LANG = "en"

PERSPECTIVES: tuple[str, ...] = ("financial", "customer", "process", "learning")

KPI_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "revenue": "Revenue",
        "gross_profit": "Gross profit",
        "gross_margin_pct": "Gross margin",
        "avg_order_value": "Average order value",
        "new_market_revenue": "New-market revenue",
        "channel_revenue_growth_pct": "Channel revenue growth",
        "new_customers": "New customers",
        "repeat_purchase_rate_pct": "Repeat purchase rate",
        "csat_pct": "Customer satisfaction (CSAT)",
        "nps": "Net promoter score (NPS)",
        "complaint_rate_pct": "Complaint rate",
        "visits": "Customer visits",
        "prospects": "New prospects",
        "market_feedback": "Market feedback reports",
        "win_rate_pct": "Win rate",
        "leads": "Leads",
        "event_participants": "Event participants",
        "brand_exposure": "Brand exposure",
        "training_hours": "Training hours",
        "review_360": "360-degree review",
    },
    "zh-CN": {
        "revenue": "销售额",
        "gross_profit": "毛利",
        "gross_margin_pct": "毛利率",
        "avg_order_value": "平均订单金额",
        "new_market_revenue": "新市场销售额",
        "channel_revenue_growth_pct": "渠道销售额增长率",
        "new_customers": "新客户数",
        "repeat_purchase_rate_pct": "复购率",
        "csat_pct": "客户满意度",
        "nps": "净推荐值",
        "complaint_rate_pct": "投诉率",
        "visits": "客户拜访次数",
        "prospects": "新增潜在客户",
        "market_feedback": "市场信息反馈",
        "win_rate_pct": "赢单率",
        "leads": "销售线索数",
        "event_participants": "活动参与人数",
        "brand_exposure": "品牌曝光量",
        "training_hours": "培训时长",
        "review_360": "360度评估",
    },
}

PERSPECTIVE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "financial": "Financial",
        "customer": "Customer",
        "process": "Internal process",
        "learning": "Learning & growth",
    },
    "zh-CN": {
        "financial": "财务",
        "customer": "客户",
        "process": "内部流程",
        "learning": "学习与成长",
    },
}

TIER_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "below_threshold": "Below threshold",
        "on_track": "On track",
        "achieved": "Achieved",
        "outstanding": "Outstanding",
    },
    "zh-CN": {
        "below_threshold": "未达门槛",
        "on_track": "进展良好",
        "achieved": "达成",
        "outstanding": "卓越",
    },
}

GRAIN_NAMES: dict[str, dict[str, str]] = {
    "en": {"week": "Week", "month": "Month", "quarter": "Quarter", "year": "Year"},
    "zh-CN": {"week": "周", "month": "月", "quarter": "季度", "year": "年"},
}

ROLE_NAMES: dict[str, dict[str, str]] = {
    "en": {"sales": "Sales", "marketing": "Marketing", "manager": "Manager"},
    "zh-CN": {"sales": "销售", "marketing": "市场", "manager": "经理"},
}

UI: dict[str, dict[str, str]] = {
    "en": {
        "report_title": "Sales scorecard",
        "company_default": "Company",
        "overview": "Overview",
        "period": "Period",
        "grain": "Grain",
        "plan_version": "Plan version",
        "generated_at": "Generated at",
        "company_scores": "Company balanced scorecard",
        "company_scores_note": "Average over all scored reps of the period.",
        "composite": "Composite",
        "reps_scored": "Reps scored",
        "reps_flagged": "Flagged for coaching",
        "total_payout": "Total payout",
        "team_composites": "Team composite scores",
        "teams": "Teams",
        "team": "Team",
        "region": "Region",
        "role": "Role",
        "reps": "Reps",
        "rep": "Rep",
        "top_reps": "Top 10 reps",
        "rank": "Rank",
        "rank_in_company": "Rank in company",
        "rank_in_team": "Rank in team",
        "tier": "Tier",
        "payout": "Payout",
        "coaching_list": "Coaching list",
        "coaching_kpis": "KPIs pulling the score down",
        "no_coaching": "No rep is flagged for coaching in this period.",
        "coaching": "Coaching",
        "flagged": "Flagged for coaching",
        "company_trend": "Company average composite, last 12 periods",
        "team_trend": "Team composite, last 12 periods",
        "rep_trend": "Composite, last 12 periods",
        "team_reps": "Reps of the team, ranked",
        "rep_composites": "Rep composite scores",
        "perspective_scores": "Balanced scorecard",
        "kpi_details": "KPI details",
        "kpi_attainment": "KPI attainment",
        "kpi": "KPI",
        "code": "Code",
        "perspective": "Perspective",
        "actual": "Actual",
        "target": "Target",
        "attainment": "Attainment",
        "weight": "Weight",
        "weighted_score": "Weighted score",
        "not_scored": "reported, not scored",
        "bonus": "Bonus",
        "base_bonus": "Base bonus",
        "coefficient": "Coefficient",
        "bonus_amount": "Bonus",
        "penalty": "Penalty",
        "clawback": "Clawback",
        "currency": "Currency",
        "run_id": "Run id",
        "status": "Status",
        "closed": "Closed",
        "open": "Open",
        "no_bonus": "No bonus row for this period.",
        "no_kpis": "No KPI rows for this period.",
        "no_data": "No scorecard data for this grain yet.",
        "no_reps": "No scored reps in this period.",
        "no_teams": "No team scores in this period.",
        "back_to_team": "Team page",
        "charts_need_js": "Charts need JavaScript; the tables hold the same numbers.",
        "chart_unavailable": "Chart library not loaded; see the tables.",
        "yes": "yes",
        "regions": "Regions",
        "region_composites": "Composite by region",
        "scored_reps": "Reps scored",
        "no_regions": "No region scored in this period.",
        "rankings": "Rankings",
        "all_rankings": "All rankings",
        "review_sheet": "Review sheet",
        "review_sheet_note": (
            "For the feedback talk: each KPI against its target and against the median of the team."
        ),
        "team_median": "Team median",
        "team_median_attainment": "Team median attainment",
        "vs_target": "vs target",
        "vs_team_median": "vs team median",
        "strongest_kpis": "Strongest KPIs",
        "weakest_kpis": "Weakest KPIs",
        "trend_table": "Trend over the last periods",
        "kpi_trend": "KPI attainment over the last periods",
        "kpi_vs_team": "Attainment vs team median",
        "data_docs": "Data documentation",
        "no": "no",
    },
    "zh-CN": {
        "report_title": "销售绩效记分卡",
        "company_default": "公司",
        "overview": "总览",
        "period": "期间",
        "grain": "周期粒度",
        "plan_version": "方案版本",
        "generated_at": "生成时间",
        "company_scores": "公司平衡计分卡",
        "company_scores_note": "本期所有参评销售人员的平均值。",
        "composite": "综合得分",
        "reps_scored": "参评人数",
        "reps_flagged": "需辅导人数",
        "total_payout": "实发奖金合计",
        "team_composites": "团队综合得分",
        "teams": "团队",
        "team": "团队",
        "region": "区域",
        "role": "岗位",
        "reps": "人数",
        "rep": "销售人员",
        "top_reps": "前10名销售人员",
        "rank": "排名",
        "rank_in_company": "公司排名",
        "rank_in_team": "团队排名",
        "tier": "档位",
        "payout": "实发奖金",
        "coaching_list": "辅导名单",
        "coaching_kpis": "拉低得分的指标",
        "no_coaching": "本期没有需要辅导的销售人员。",
        "coaching": "辅导",
        "flagged": "需要辅导",
        "company_trend": "公司平均综合得分（最近12期）",
        "team_trend": "团队综合得分（最近12期）",
        "rep_trend": "综合得分（最近12期）",
        "team_reps": "团队成员排名",
        "rep_composites": "成员综合得分",
        "perspective_scores": "平衡计分卡",
        "kpi_details": "指标明细",
        "kpi_attainment": "指标达成率",
        "kpi": "指标",
        "code": "代码",
        "perspective": "维度",
        "actual": "实际值",
        "target": "目标值",
        "attainment": "达成率",
        "weight": "权重",
        "weighted_score": "加权得分",
        "not_scored": "仅展示，不计分",
        "bonus": "奖金",
        "base_bonus": "基础奖金",
        "coefficient": "系数",
        "bonus_amount": "奖金",
        "penalty": "罚款",
        "clawback": "追回",
        "currency": "币种",
        "run_id": "运行编号",
        "status": "状态",
        "closed": "已关账",
        "open": "未关账",
        "no_bonus": "本期没有奖金记录。",
        "no_kpis": "本期没有指标记录。",
        "no_data": "该周期粒度暂无记分卡数据。",
        "no_reps": "本期没有参评销售人员。",
        "no_teams": "本期没有团队得分。",
        "back_to_team": "团队页面",
        "charts_need_js": "图表需要启用 JavaScript；表格中有相同的数据。",
        "chart_unavailable": "图表库未加载，请查看表格。",
        "yes": "是",
        "regions": "区域",
        "region_composites": "各区域综合得分",
        "scored_reps": "参评人数",
        "no_regions": "本期没有区域得分。",
        "rankings": "排名",
        "all_rankings": "全部排名",
        "review_sheet": "绩效面谈表",
        "review_sheet_note": "用于绩效反馈面谈：每项指标对比目标和团队中位数。",
        "team_median": "团队中位数",
        "team_median_attainment": "团队中位达成率",
        "vs_target": "对比目标",
        "vs_team_median": "对比团队中位数",
        "strongest_kpis": "最强指标",
        "weakest_kpis": "最弱指标",
        "trend_table": "近期趋势",
        "kpi_trend": "近期各指标达成率",
        "kpi_vs_team": "达成率对比团队中位数",
        "data_docs": "数据文档",
        "no": "否",
    },
}

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def normalize_lang(lang: str | None) -> str:
    """Return the canonical language tag (``en`` or ``zh-CN``); ValueError for any other."""
    key = (lang or "").strip().replace("_", "-").lower()
    for supported in SUPPORTED_LANGS:
        if key == supported.lower():
            return supported
    raise ValueError(f"unsupported report language {lang!r}: choose one of {', '.join(SUPPORTED_LANGS)}")


@dataclass(frozen=True)
class Translator:
    """Labels of one language; unknown keys and codes fall back to the code itself."""

    lang: str

    def __call__(self, key: str) -> str:
        return UI[self.lang].get(key) or UI[DEFAULT_LANG].get(key) or key

    def kpi(self, code: str | None) -> str:
        return KPI_NAMES[self.lang].get(code or "", code or "")

    def perspective(self, code: str | None) -> str:
        return PERSPECTIVE_NAMES[self.lang].get(code or "", code or "")

    def tier(self, code: str | None) -> str:
        return TIER_NAMES[self.lang].get(code or "", code or "")

    def grain(self, code: str | None) -> str:
        return GRAIN_NAMES[self.lang].get(code or "", code or "")

    def role(self, code: str | None) -> str:
        return ROLE_NAMES[self.lang].get(code or "", code or "")

    def period(self, grain: str, start: date | None) -> str:
        """Long, human label of a period, e.g. ``May 2024`` / ``2024年5月``."""
        if start is None:
            return "—"
        y, m = start.year, start.month
        zh = self.lang == "zh-CN"
        if grain == "week":
            iso_y, iso_w, _ = start.isocalendar()
            if zh:
                return f"{iso_y}年第{iso_w}周（{start.isoformat()}起）"
            return f"Week {iso_w}, {iso_y} (from {start.isoformat()})"
        if grain == "month":
            return f"{y}年{m}月" if zh else f"{_MONTHS_EN[m - 1]} {y}"
        if grain == "quarter":
            q = (m - 1) // 3 + 1
            return f"{y}年第{q}季度" if zh else f"Q{q} {y}"
        if grain == "year":
            return f"{y}年" if zh else str(y)
        return start.isoformat()


def period_short(grain: str, start: date) -> str:
    """Compact, language-neutral period label for chart axes: 2024-05, 2024-Q2, 2024-W19."""
    if grain == "week":
        iso_y, iso_w, _ = start.isocalendar()
        return f"{iso_y}-W{iso_w:02d}"
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "year":
        return str(start.year)
    return start.isoformat()


def translator(lang: str) -> Translator:
    """Translator for ``lang`` (``en`` or ``zh-CN``); ValueError for an unsupported one."""
    return Translator(normalize_lang(lang))
