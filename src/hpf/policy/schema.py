"""Policy parameters (政策参数): validated, frozen models of the policy TOML (domain.md §3–§7).

Each section of the file is a list of effective-dated entries; each entry model here validates one.
Units (the same in every section):

- TOML keys ending in ``_yuan`` are amounts in yuan (a string such as ``"23681"`` or an int);
  the model field has the same name ending in ``_fen`` and holds integer fen
  (``base_cap_yuan`` → ``base_cap_fen``, see :func:`toml_key`);
- fields ending in ``_pct`` are Decimal percentages (``Decimal("1.50")`` = 1.5 %);
- fields ending in ``_share`` or ``_of_loans`` are Decimal fractions (``Decimal("0.60")`` = 60 %);
- other Decimal fields are plain numbers (multiples, factors, square metres).

TOML floats are refused for money and rates (they are binary): write ``"1.5"``, not ``1.5``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hpf.dates import parse_date
from hpf.errors import InvalidInput
from hpf.money import fen_from_yuan, parse_rate, to_decimal


class TomlFloat:
    """A float as written in a TOML file, kept as text so that validation can refuse it clearly."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def bad(zh: str, en: str) -> PydanticCustomError:
    """A validation error carrying a Chinese and an English message."""
    return PydanticCustomError("hpf_policy", "{en}", {"zh": zh, "en": en})


def _exact(value: Any) -> Decimal:
    if isinstance(value, float | TomlFloat):
        raise bad(
            f'不能写浮点数 {value!r}，请写成字符串（如 "{value!r}"）或整数',
            f'float {value!r} not allowed: write a string ("{value!r}") or an integer',
        )
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise bad(
            f"应为数值字符串或整数：{value!r}", f"expected a numeric string or integer: {value!r}"
        )
    try:
        return to_decimal(value)
    except InvalidInput as exc:
        raise bad(exc.message_zh, exc.message_en) from None


def _yuan_to_fen(value: Any) -> int:
    amount = _exact(value)
    if amount < 0:
        raise bad(f"金额不能为负：{value}", f"amount must not be negative: {value}")
    if amount * 100 != (amount * 100).to_integral_value():
        raise bad(f"金额最小单位为分：{value}", f"amount finer than one fen: {value}")
    return fen_from_yuan(amount)


def _pct(value: Any) -> Decimal:
    rate = _exact(value)
    try:
        return parse_rate(rate)
    except InvalidInput as exc:
        raise bad(exc.message_zh, exc.message_en) from None


def _fraction(value: Any) -> Decimal:
    share = _exact(value)
    if not Decimal(0) <= share <= Decimal(1):
        raise bad(f"比例应在 0 到 1 之间：{value}", f"fraction must be between 0 and 1: {value}")
    return share


def _positive(value: Any) -> Decimal:
    number = _exact(value)
    if number <= 0:
        raise bad(f"应为正数：{value}", f"must be positive: {value}")
    return number


def _effective(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value)
        except InvalidInput as exc:
            raise bad(exc.message_zh, exc.message_en) from None
    raise bad(
        f"生效日期应为日期（如 2023-07-01）：{value!r}",
        f"effective must be a date like 2023-07-01: {value!r}",
    )


Fen = Annotated[int, BeforeValidator(_yuan_to_fen)]
Pct = Annotated[Decimal, BeforeValidator(_pct)]
Share = Annotated[Decimal, BeforeValidator(_fraction)]
Positive = Annotated[Decimal, BeforeValidator(_positive)]
EffectiveDate = Annotated[date, BeforeValidator(_effective)]
Count = Annotated[StrictInt, Field(ge=0)]


def _check_order(low: Decimal | int, high: Decimal | int, what_zh: str, what_en: str) -> None:
    if low > high:
        raise bad(f"{what_zh}：下限 {low} 大于上限 {high}", f"{what_en}: min {low} > max {high}")


def toml_key(field_name: str) -> str:
    """The TOML key of a model field: ``*_fen`` fields are written in yuan as ``*_yuan``."""
    return field_name.removesuffix("_fen") + "_yuan" if field_name.endswith("_fen") else field_name


class PolicyEntry(BaseModel):
    """One effective-dated entry of a section; in force from ``effective`` until the next entry."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=toml_key)

    effective: EffectiveDate = Field(title="生效日期 (effective)")


class ContributionEntry(PolicyEntry):
    """缴存 contributions (domain.md §3)."""

    employer_rate_min_pct: Pct = Field(title="单位缴存比例下限 (employer rate min)")
    employer_rate_max_pct: Pct = Field(title="单位缴存比例上限 (employer rate max)")
    employee_rate_min_pct: Pct = Field(title="个人缴存比例下限 (employee rate min)")
    employee_rate_max_pct: Pct = Field(title="个人缴存比例上限 (employee rate max)")
    base_cap_fen: Fen = Field(title="缴存基数上限 (base cap)")
    base_floor_city_fen: Fen = Field(title="缴存基数下限·市区 (base floor, city)")
    base_floor_county_fen: Fen = Field(title="缴存基数下限·县 (base floor, county)")
    rounding: Literal["fen", "yuan"] = Field(title="月缴存额取整 (monthly amount rounding)")
    new_employee_start_offset_months: Count = Field(
        title="新职工起缴月份偏移 (new employee start, months after hiring)"
    )
    remit_deadline_days: Count = Field(
        title="汇缴期限天数 (remittance deadline, days after payday)"
    )
    registration_deadline_days: Count = Field(title="登记期限天数 (registration deadline, days)")
    deferral_max_months: Count = Field(title="缓缴最长月数 (deferral max months)")
    average_wage_fen: Fen | None = Field(
        default=None, title="上年度职工年平均工资 (average annual wage of the previous year)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ContributionEntry:
        _check_order(
            self.employer_rate_min_pct, self.employer_rate_max_pct, "单位缴存比例", "employer rate"
        )
        _check_order(
            self.employee_rate_min_pct, self.employee_rate_max_pct, "个人缴存比例", "employee rate"
        )
        for floor in (self.base_floor_city_fen, self.base_floor_county_fen):
            _check_order(floor, self.base_cap_fen, "缴存基数（分）", "contribution base (fen)")
        return self

    def base_floor_fen(self, *, county: bool) -> int:
        """The base floor for a county employer or a city one."""
        return self.base_floor_county_fen if county else self.base_floor_city_fen

    def average_annual_wage_fen(self) -> int:
        """The city's average annual wage (年平均工资): ``average_wage`` when given, else 4 × the
        base cap (the cap is 3 × the average monthly wage, domain.md §3)."""
        if self.average_wage_fen is not None:
            return self.average_wage_fen
        return self.base_cap_fen * 4


class DepositRateEntry(PolicyEntry):
    """存款利率 deposit interest rates, annual % (domain.md §4)."""

    current_year_pct: Pct = Field(title="当年缴存利率 (current-year deposits rate)")
    brought_forward_pct: Pct = Field(title="上年结转利率 (brought-forward balance rate)")

    def rate_pct(self, *, brought_forward: bool = True) -> Decimal:
        return self.brought_forward_pct if brought_forward else self.current_year_pct


class LoanRateEntry(PolicyEntry):
    """贷款利率 loan rates, annual % by home and term band, and the repricing rule (§6)."""

    first_home_upto_5y_pct: Pct = Field(title="首套·五年以下含五年 (first home, <=5y)")
    first_home_over_5y_pct: Pct = Field(title="首套·五年以上 (first home, >5y)")
    second_home_upto_5y_pct: Pct = Field(title="二套·五年以下含五年 (second home, <=5y)")
    second_home_over_5y_pct: Pct = Field(title="二套·五年以上 (second home, >5y)")
    band_upto_months: StrictInt = Field(gt=0, title="短期档上限月数 (short band up to months)")
    reprice_existing: Literal["next-january-1", "immediately"] = Field(
        title="存量贷款调整时点 (existing loans repriced)"
    )
    reprice_if_term_over_months: Count = Field(
        title="需调整的最短期限月数 (repriced if term over months)"
    )

    def rate_pct(self, *, second_home: bool, term_months: int) -> Decimal:
        """The annual rate in % for a loan of ``term_months`` (≤ band_upto_months → short band)."""
        if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months <= 0:
            raise InvalidInput(
                f"贷款期数应为正整数：{term_months!r}",
                f"term_months must be positive: {term_months!r}",
            )
        short = term_months <= self.band_upto_months
        if second_home:
            return self.second_home_upto_5y_pct if short else self.second_home_over_5y_pct
        return self.first_home_upto_5y_pct if short else self.first_home_over_5y_pct

    def existing_loans_from(self) -> date:
        """The day existing loans (term over the threshold) start using this entry's rates."""
        if self.reprice_existing == "next-january-1":
            return date(self.effective.year + 1, 1, 1)
        return self.effective


class LoanLimitEntry(PolicyEntry):
    """贷款额度 loan limit and eligibility (domain.md §6)."""

    balance_multiple: Positive = Field(title="余额倍数 (balance multiple)")
    min_counted_balance_fen: Fen = Field(title="最低计算余额 (minimum counted balance)")
    cap_single_fen: Fen = Field(title="最高额度·单人 (cap, one contributor)")
    cap_two_contributors_fen: Fen = Field(title="最高额度·双人 (cap, two contributors)")
    down_payment_first_small_pct: Pct = Field(
        title="首套小户型首付比例 (down payment, first home small)"
    )
    down_payment_first_large_pct: Pct = Field(
        title="首套大户型首付比例 (down payment, first home large)"
    )
    down_payment_second_pct: Pct = Field(title="二套首付比例 (down payment, second home)")
    small_home_max_area_m2: Positive = Field(title="小户型面积上限㎡ (small home max area m²)")
    third_home_allowed: StrictBool = Field(title="允许第三套贷款 (third home allowed)")
    repayment_capacity_share: Share = Field(title="还款能力比例 (repayment capacity share)")
    granularity_fen: Fen = Field(title="额度取整单位 (limit granularity)")
    max_term_years: StrictInt = Field(gt=0, le=50, title="最长期限年 (max term, years)")
    retirement_age_male: StrictInt = Field(gt=0, le=100, title="男性退休年龄 (retirement age, men)")
    retirement_age_female: StrictInt = Field(
        gt=0, le=100, title="女性退休年龄 (retirement age, women)"
    )
    years_beyond_retirement: Count = Field(title="可超过退休年龄年数 (years beyond retirement)")
    min_contribution_months: Count = Field(title="最短缴存月数 (min contribution months)")
    contribution_months_consecutive: StrictBool = Field(
        title="须连续缴存 (months must be consecutive)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> LoanLimitEntry:
        _check_order(
            self.cap_single_fen, self.cap_two_contributors_fen, "最高额度（分）", "loan cap (fen)"
        )
        if self.granularity_fen <= 0:
            raise bad("额度取整单位必须为正数", "granularity_yuan must be positive")
        return self

    def cap_fen(self, *, two_contributors: bool) -> int:
        return self.cap_two_contributors_fen if two_contributors else self.cap_single_fen

    def down_payment_pct(self, *, second_home: bool, area_m2: Decimal) -> Decimal:
        """Minimum down payment in % of the price (a third home is refused by the caller)."""
        if second_home:
            return self.down_payment_second_pct
        if area_m2 <= self.small_home_max_area_m2:
            return self.down_payment_first_small_pct
        return self.down_payment_first_large_pct

    def loan_to_value_share(self, *, second_home: bool, area_m2: Decimal) -> Decimal:
        """Maximum loan as a fraction of the price: 1 − down payment."""
        return (
            Decimal(100) - self.down_payment_pct(second_home=second_home, area_m2=area_m2)
        ) / 100

    def max_age_at_maturity(self, *, male: bool) -> int:
        """Age + term must not exceed this (retirement age + years beyond retirement)."""
        age = self.retirement_age_male if male else self.retirement_age_female
        return age + self.years_beyond_retirement


class WithdrawalTypeRule(BaseModel):
    """The parameters of one withdrawal type (提取类型), a ``[withdrawal.types.<type>]`` table.

    Counts of 0 mean "no limit"; ``cap_yuan`` = "0" means no cap beyond the type's own rule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=toml_key)

    enabled: StrictBool = Field(title="办理 (enabled)")
    closes_account: StrictBool = Field(title="销户提取 (closes the account)")
    documents: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = Field(
        title="申请材料 (required documents)"
    )
    window_months: Count = Field(title="事项发生后可申请月数 (months after the event, 0 = any)")
    min_interval_months: Count = Field(title="两次提取最短间隔月数 (min months between, 0 = none)")
    max_times_per_year: Count = Field(title="每年最多次数 (max times a year, 0 = unlimited)")
    cap_fen: Fen = Field(title="单次提取上限 (cap per withdrawal, 0 = none)")


class WithdrawalTypes(BaseModel):
    """Every withdrawal type of domain.md §5, each with its parameters (all must be listed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purchase: WithdrawalTypeRule = Field(title="购买住房 (purchase)")
    build: WithdrawalTypeRule = Field(title="建造、翻建、大修 (build, rebuild, overhaul)")
    loan_repayment: WithdrawalTypeRule = Field(title="偿还购房贷款 (loan repayment)")
    rent: WithdrawalTypeRule = Field(title="租房 (rent)")
    retirement: WithdrawalTypeRule = Field(title="离休、退休 (retirement)")
    incapacity: WithdrawalTypeRule = Field(title="完全丧失劳动能力 (loss of working capacity)")
    emigration: WithdrawalTypeRule = Field(title="出境定居 (settling abroad)")
    death: WithdrawalTypeRule = Field(title="死亡或被宣告死亡 (death, inheritance)")
    subsistence: WithdrawalTypeRule = Field(title="享受最低生活保障 (subsistence allowance)")
    unemployment: WithdrawalTypeRule = Field(title="离职封存 (unemployment after leaving)")
    elevator: WithdrawalTypeRule = Field(title="既有住宅加装电梯 (elevator retrofit)")
    serious_illness: WithdrawalTypeRule = Field(title="重大疾病 (serious illness)")

    @model_validator(mode="after")
    def _closing_grounds(self) -> WithdrawalTypes:
        # 条例 art. 24: retirement, incapacity and emigration close the account; on death the
        # heirs take the whole balance.
        for name in ("retirement", "incapacity", "emigration", "death"):
            if not getattr(self, name).closes_account:
                raise bad(
                    f"{name} 提取依条例第二十四条必须销户（closes_account = true）",
                    f"{name} withdrawals close the account by art. 24: closes_account = true",
                )
        return self


class WithdrawalEntry(PolicyEntry):
    """提取 withdrawals (domain.md §5)."""

    min_balance_fen: Fen = Field(title="部分提取最低留存 (min balance kept)")
    rent_cap_monthly_fen: Fen = Field(title="租房提取月上限 (rent cap per month)")
    rent_cap_yearly_fen: Fen = Field(title="租房提取年上限 (rent cap per year)")
    unemployment_frozen_months: Count = Field(
        title="失业提取须封存月数 (months frozen before unemployment withdrawal)"
    )
    decision_days: Count = Field(title="审核期限天数 (decision deadline, days)")
    standing_order_allowed: StrictBool = Field(
        title="允许约定提取还贷 (standing monthly withdrawals for a loan)"
    )
    types: WithdrawalTypes = Field(title="提取类型 (withdrawal types)")

    @model_validator(mode="after")
    def _ordered(self) -> WithdrawalEntry:
        _check_order(
            self.rent_cap_monthly_fen,
            self.rent_cap_yearly_fen,
            "租房提取上限（分）",
            "rent cap (fen)",
        )
        return self


DayCount = Literal[360, 365]


class OverdueEntry(PolicyEntry):
    """逾期 overdue penalty interest (domain.md §6)."""

    penalty_factor: Positive = Field(title="罚息倍数 (penalty factor)")
    day_count: DayCount = Field(title="计息天数基数 (day count)")

    @field_validator("penalty_factor")
    @classmethod
    def _at_least_one(cls, value: Decimal) -> Decimal:
        if value < 1:
            raise bad(f"罚息倍数不能小于 1：{value}", f"penalty_factor must be at least 1: {value}")
        return value


class ValueAddedEntry(PolicyEntry):
    """增值收益 value-added income distribution (domain.md §7); all values are fractions."""

    reserve_share: Share = Field(title="风险准备金提取比例 (reserve share of value-added income)")
    reserve_floor_of_loans: Share = Field(
        title="准备金不低于贷款余额比例 (reserve floor, share of loans)"
    )
    reserve_cap_of_loans: Share | None = Field(
        default=None, title="准备金上限占贷款余额比例 (reserve cap, share of loans)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ValueAddedEntry:
        if self.reserve_cap_of_loans is not None:
            _check_order(
                self.reserve_floor_of_loans,
                self.reserve_cap_of_loans,
                "准备金占贷款比例",
                "reserve of loans",
            )
        return self


class InterestEntry(PolicyEntry):
    """结息 deposit interest settlement (domain.md §4)."""

    day_count: DayCount = Field(title="计息天数基数 (day count)")
    settlement_month_day: str = Field(title="结息日 (settlement month-day)")

    @field_validator("settlement_month_day")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            month, day = (int(part) for part in value.split("-"))
            date(2001, month, day)  # a non-leap year: refuses 02-29 as well
        except ValueError:
            raise bad(
                f"结息日应为 MM-DD：{value!r}", f"settlement_month_day must be MM-DD: {value!r}"
            ) from None
        return f"{month:02d}-{day:02d}"

    def settlement_date(self, year: int) -> date:
        """The settlement day in ``year`` (e.g. June 30)."""
        month, day = (int(part) for part in self.settlement_month_day.split("-"))
        return date(year, month, day)


class TicketDeadlines(BaseModel):
    """Reply deadline (答复时限) of a hotline ticket per category, calendar days from receipt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consult: Count = Field(title="咨询 (enquiry)")
    help: Count = Field(title="求助 (request for help)")
    suggestion: Count = Field(title="建议 (suggestion)")
    complaint: Count = Field(title="投诉 (complaint)")
    report: Count = Field(title="举报 (report of wrongdoing)")
    praise: Count = Field(title="表扬 (praise)")


class ServiceEntry(PolicyEntry):
    """服务与稽核 service desk deadlines, e-audit thresholds, partner API limits (domain.md §9).

    Not one of :data:`SECTION_MODELS` (``hpf policy show`` lists those); read it with
    :meth:`hpf.policy.loader.Policy.service_on`. A file without ``[[service]]`` gets
    :data:`DEFAULT_SERVICE` (the shipped placeholders).
    """

    ticket_reply_days: TicketDeadlines = Field(title="工单答复时限天数 (ticket reply deadlines)")
    eaudit_item_deadline_days: StrictInt = Field(
        gt=0, title="稽核疑点整改期限天数 (e-audit item deadline, days)"
    )
    eaudit_back_payment_window_days: Count = Field(
        title="异常补缴后提取窗口天数 (withdrawal window after a back payment, days)"
    )
    eaudit_unusual_back_payment_fen: Fen = Field(
        title="异常补缴金额 (unusual back payment, amount)"
    )
    eaudit_unusual_back_payment_months: StrictInt = Field(
        gt=0, title="异常补缴月数 (unusual back payment, months)"
    )
    eaudit_frozen_months: Count = Field(title="封存月数阈值 (frozen account, months)")
    partner_calls_per_minute: StrictInt = Field(
        gt=0, title="合作部门接口每分钟调用上限 (partner API calls per minute)"
    )


DEFAULT_SERVICE = ServiceEntry.model_validate(
    {
        "effective": date(2002, 3, 24),
        "ticket_reply_days": {
            "consult": 1,
            "help": 3,
            "suggestion": 5,
            "complaint": 5,
            "report": 5,
            "praise": 3,
        },
        "eaudit_item_deadline_days": 30,
        "eaudit_back_payment_window_days": 30,
        "eaudit_unusual_back_payment_yuan": "10000",
        "eaudit_unusual_back_payment_months": 3,
        "eaudit_frozen_months": 6,
        "partner_calls_per_minute": 60,
    }
)
"""The shipped placeholders (the same as ``[[service]]`` in linyi.toml)."""


SECTION_MODELS: dict[str, type[PolicyEntry]] = {
    "contribution": ContributionEntry,
    "deposit_rate": DepositRateEntry,
    "loan_rate": LoanRateEntry,
    "loan_limit": LoanLimitEntry,
    "withdrawal": WithdrawalEntry,
    "overdue": OverdueEntry,
    "value_added": ValueAddedEntry,
    "interest": InterestEntry,
}
"""Every section of a policy file, in display order, with its entry model."""

SECTION_LABELS: dict[str, str] = {
    "contribution": "缴存 (contribution)",
    "deposit_rate": "存款利率 (deposit rate)",
    "loan_rate": "贷款利率 (loan rate)",
    "loan_limit": "贷款额度 (loan limit)",
    "withdrawal": "提取 (withdrawal)",
    "overdue": "逾期 (overdue)",
    "value_added": "增值收益 (value-added income)",
    "interest": "结息 (interest settlement)",
}


class Meta(BaseModel):
    """Free-text description of the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    center: str = ""
    description: str = ""


def _dated(entries: tuple[PolicyEntry, ...]) -> tuple[PolicyEntry, ...]:
    if not entries:
        raise bad("至少需要一条生效条目", "at least one effective-dated entry is required")
    seen: set[date] = set()
    for entry in entries:
        if entry.effective in seen:
            raise bad(
                f"生效日期重复：{entry.effective}", f"duplicate effective date: {entry.effective}"
            )
        seen.add(entry.effective)
    return tuple(sorted(entries, key=lambda entry: entry.effective))


class PolicyDocument(BaseModel):
    """A whole policy file: every section present, entries sorted by effective date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meta: Meta = Meta()
    contribution: tuple[ContributionEntry, ...]
    deposit_rate: tuple[DepositRateEntry, ...]
    loan_rate: tuple[LoanRateEntry, ...]
    loan_limit: tuple[LoanLimitEntry, ...]
    withdrawal: tuple[WithdrawalEntry, ...]
    overdue: tuple[OverdueEntry, ...]
    value_added: tuple[ValueAddedEntry, ...]
    interest: tuple[InterestEntry, ...]
    service: tuple[ServiceEntry, ...] = (DEFAULT_SERVICE,)

    @field_validator(*SECTION_MODELS, "service", mode="after")
    @classmethod
    def _sections(cls, entries: tuple[PolicyEntry, ...]) -> tuple[PolicyEntry, ...]:
        return _dated(entries)

    def entries(self, section: str) -> tuple[PolicyEntry, ...]:
        """The entries of ``section``, oldest first."""
        if section not in SECTION_MODELS:
            raise InvalidInput(
                f"未知的政策参数节：{section!r}", f"unknown policy section: {section!r}"
            )
        result: tuple[PolicyEntry, ...] = getattr(self, section)
        return result
