"""The step machine (业务流程): routes, channels, transitions and the separation of duties."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.workflow import rules
from hpf.workflow.business_types import route_table
from hpf.workflow.rules import (
    ApplicationClosed,
    InvalidAction,
    NotPermitted,
    SeparationOfDuties,
    UnknownChannel,
    WorkflowError,
)

APPLICANT = 1
ROUTES = [
    ("accept",),
    ("accept", "review"),
    ("accept", "approve"),
    ("accept", "review", "approve"),
    ("review",),
]


def walk(route: tuple[str, ...], *moves: tuple[str, int]) -> rules.Progress:
    progress = rules.start(route, APPLICANT)
    for action, actor in moves:
        progress = rules.transition(progress, action, actor)
    return progress


# --- routes -----------------------------------------------------------------------------------
def test_shipped_routes_by_type_and_band() -> None:
    table = route_table()
    assert table.steps_for("withdrawal", 5_000_000) == ("accept", "review")  # 50,000.00 yuan
    assert table.steps_for("withdrawal", 5_000_001) == ("accept", "review", "approve")
    assert table.steps_for("loan", 1) == ("accept", "review", "approve")
    assert table.steps_for("contact_change", 0) == ("accept", "review")
    assert table.steps_for("no_such_type", 0) == table.steps_for("default", 0)
    for code in ("employer_rate_change", "employer_deferral", "transfer"):
        assert code in table.types


@pytest.mark.parametrize(
    "text",
    [
        '[[withdrawal]]\nsteps = ["accept"]',  # no default
        "[[default]]\nsteps = []",
        '[[default]]\nsteps = ["review", "accept"]',  # out of order
        '[[default]]\nsteps = ["accept", "accept"]',
        '[[default]]\nsteps = ["sign"]',
        '[[default]]\nup_to_yuan = "10"\nsteps = ["accept"]',  # last band bounded
        '[[default]]\nsteps = ["accept"]\n[[default]]\nsteps = ["accept"]',  # two unbounded
        '[[default]]\nup_to_yuan = "10"\nsteps = ["accept"]\n'
        '[[default]]\nup_to_yuan = "5"\nsteps = ["accept"]\n[[default]]\nsteps = ["accept"]',
        '[[default]]\nup_to_yuan = 1.5\nsteps = ["accept"]\n[[default]]\nsteps = ["accept"]',
        '[[default]]\nsteps = ["accept"]\nextra = 1',
    ],
)
def test_bad_route_tables_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        rules.parse_route_table(tomllib.loads(text))


def test_band_limits_are_inclusive_yuan() -> None:
    table = rules.parse_route_table(
        tomllib.loads(
            '[[default]]\nsteps = ["accept"]\n'
            '[[x]]\nup_to_yuan = "1,000.50"\nsteps = ["accept"]\n'
            '[[x]]\nsteps = ["accept", "approve"]'
        )
    )
    assert table.steps_for("x", 100_050) == ("accept",)
    assert table.steps_for("x", 100_051) == ("accept", "approve")


# --- channels ---------------------------------------------------------------------------------
def test_channels() -> None:
    assert set(rules.CHANNELS) == {
        "counter",
        "online_hall",
        "mobile_app",
        "wechat",
        "kiosk",
        "hotline",
        "cross_region",
    }
    assert rules.is_online_channel("mobile_app")
    assert not rules.is_online_channel("counter")
    assert rules.channel("wechat").name_zh == "微信"
    with pytest.raises(UnknownChannel):
        rules.channel("fax")


# --- transitions ------------------------------------------------------------------------------
def test_full_walk_completes_after_last_step() -> None:
    progress = walk(("accept", "review", "approve"), ("accept", 2), ("review", 3))
    assert progress.status == rules.REVIEWED
    assert progress.awaiting == "approve"
    done = rules.transition(progress, "approve", 4)
    assert done.status == rules.COMPLETED
    assert done.awaiting is None
    assert [t.step for t in done.history] == ["submit", "accept", "review", "approve"]


def test_steps_must_come_in_route_order() -> None:
    with pytest.raises(InvalidAction):
        walk(("accept", "review"), ("review", 2))
    with pytest.raises(InvalidAction):
        walk(("accept", "review"), ("accept", 2), ("approve", 3))


def test_applicant_may_not_take_a_staff_step() -> None:
    with pytest.raises(SeparationOfDuties):
        walk(("accept", "review"), ("accept", APPLICANT))


def test_same_person_two_steps_refused() -> None:
    with pytest.raises(SeparationOfDuties) as err:
        walk(("accept", "review"), ("accept", 2), ("review", 2))
    assert "两个环节" in err.value.message_zh


def test_return_and_resubmit_restarts_the_route() -> None:
    progress = walk(("accept", "review"), ("accept", 2), ("return", 3))
    assert progress.status == rules.RETURNED
    assert progress.awaiting == rules.APPLICANT
    with pytest.raises(InvalidAction):
        rules.transition(progress, "accept", 2)
    with pytest.raises(NotPermitted):
        rules.transition(progress, "resubmit", 2)
    progress = rules.transition(progress, "resubmit", APPLICANT)
    assert progress.status == rules.SUBMITTED
    # the reviewer who returned it is bound to review: may not accept now
    with pytest.raises(SeparationOfDuties):
        rules.transition(progress, "accept", 3)
    progress = rules.transition(progress, "accept", 2)  # the same step again is fine
    assert rules.transition(progress, "review", 3).status == rules.COMPLETED


def test_reject_and_withdraw_are_terminal() -> None:
    rejected = walk(("accept",), ("reject", 2))
    withdrawn = walk(("accept", "review"), ("accept", 2), ("withdraw", APPLICANT))
    completed = walk(("accept",), ("accept", 2))
    for progress in (rejected, withdrawn, completed):
        assert progress.status in rules.TERMINAL
        for action in (*rules.STAFF_ACTIONS, *rules.APPLICANT_ACTIONS):
            with pytest.raises(ApplicationClosed):
                rules.transition(progress, action, 9)


def test_only_the_applicant_withdraws_and_submit_is_not_an_action() -> None:
    progress = rules.start(("accept",), APPLICANT)
    with pytest.raises(NotPermitted):
        rules.transition(progress, "withdraw", 2)
    with pytest.raises(InvalidAction):
        rules.transition(progress, "submit", APPLICANT)
    with pytest.raises(InvalidAction):
        rules.transition(progress, "resubmit", APPLICANT)  # not returned
    with pytest.raises(InvalidAction):
        rules.transition(progress, "sign", 2)


def test_required_permission_follows_the_awaited_step() -> None:
    progress = walk(("accept", "review", "approve"), ("accept", 2), ("review", 3))
    assert rules.required_permission(progress, "approve") == "workflow.approve"
    assert rules.required_permission(progress, "return") == "workflow.approve"
    assert rules.required_permission(progress, "withdraw") is None


@pytest.mark.parametrize("route", [(), ("approve", "accept"), ("accept", "accept"), ("sign",)])
def test_start_refuses_bad_routes(route: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput):
        rules.start(route, APPLICANT)


@pytest.mark.parametrize("good", ["13800138000", "19912345678", 15000000000])
def test_mobile_numbers(good: object) -> None:
    assert rules.mobile_number(good) == str(good)


@pytest.mark.parametrize("bad", ["1380013800", "23800138000", "12800138000", "1380013800a", None])
def test_bad_mobile_numbers(bad: object) -> None:
    with pytest.raises(InvalidInput):
        rules.mobile_number(bad)


def test_request_hash_is_order_independent() -> None:
    assert rules.request_hash({"a": 1, "b": [1, 2]}) == rules.request_hash({"b": [1, 2], "a": 1})
    assert rules.request_hash({"a": 1}) != rules.request_hash({"a": 2})


# --- properties -------------------------------------------------------------------------------
ACTIONS = (*rules.STAFF_ACTIONS, *rules.APPLICANT_ACTIONS)
moves = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=1, max_value=5)), max_size=40
)


def _play(route: tuple[str, ...], script: list[tuple[str, int]]) -> list[rules.Progress]:
    """Apply the moves the rules allow, skipping refused ones; every state visited."""
    progress = rules.start(route, APPLICANT)
    seen = [progress]
    for action, actor in script:
        try:
            progress = rules.transition(progress, action, actor)
        except WorkflowError:
            continue
        seen.append(progress)
    return seen


@settings(max_examples=400)
@given(route=st.sampled_from(ROUTES), script=moves)
def test_completion_needs_every_step_by_distinct_people(
    route: tuple[str, ...], script: list[tuple[str, int]]
) -> None:
    final = _play(route, script)[-1]
    # across the whole history nobody is bound to two steps
    steps_of: dict[int, set[str]] = {}
    for taken in final.history:
        steps_of.setdefault(taken.actor_id, set()).add(taken.step)
    assert all(len(steps) == 1 for steps in steps_of.values())
    assert steps_of[APPLICANT] == {"submit"}
    if final.status == rules.COMPLETED:
        last_submit = max(
            i for i, t in enumerate(final.history) if t.action in ("submit", "resubmit")
        )
        cycle = final.history[last_submit + 1 :]
        assert [t.step for t in cycle] == list(route)
        assert [t.action for t in cycle] == list(route)
        actors = [t.actor_id for t in cycle]
        assert len(set(actors)) == len(actors)
        assert APPLICANT not in actors


@settings(max_examples=200)
@given(
    route=st.sampled_from(ROUTES),
    script=moves,
    action=st.sampled_from(ACTIONS),
    actor=st.integers(min_value=1, max_value=5),
)
def test_terminal_states_accept_no_action(
    route: tuple[str, ...], script: list[tuple[str, int]], action: str, actor: int
) -> None:
    final = _play(route, script)[-1]
    if final.status in rules.TERMINAL:
        with pytest.raises(ApplicationClosed):
            rules.transition(final, action, actor)
        assert final.awaiting is None
    else:
        assert final.awaiting is not None
