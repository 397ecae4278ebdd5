"""Steps several people decide together, through the HTTP API on the real PostgreSQL and Redis:
who is asked (and mailed: notify's approval-needed deliveries), who may decide when, what the case
says of the decisions (``approvals``, ``awaiting`` on the step; the trail's ``approval`` entries),
and what a refusal does. The ONESQA manual (seeds/004) is the premise:

- ``onesqa/web-publish/verify``: "หน.ภทส. และ หน.จรส. ตรวจสอบความถูกต้องครบถ้วนของข้อมูล ... หากดำเนินการไม่ถูกต้อง
  หรือข้อมูลไม่ครบประสานและส่งบันทึกกลับต้นเรื่องเพื่อทำการแก้ไข" (``all_of: [head, subhead]``).
- ``onesqa/aqa-system-dev/approve-budget``: "ส่งเรื่องผ่านสายบังคับบัญชาถึงผู้อำนวยการเพื่อพิจารณาอนุมัติ ... เมื่อได้รับ
  การอนุมัติแล้ว ... ถึงรองผู้อำนวยการที่กำกับดูแลพิจารณาอนุมัติ" (``in_order: [director, deputy-director]``)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select

from services.assignment.adapters import packstore
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case
from services.assignment.handlers import directory
from services.assignment.handlers.engine import Engine
from services.assignment.tests.conftest import PASSWORD
from services.assignment.tests.test_engine import case_row, events, file, post, read, trail_of
from services.notify.tests.factory import deliveries
from shared.packs import PACK_DIR, find_sop
from sopdesk.cli import main
from sopdesk.testing import drain

pytestmark = pytest.mark.org("onesqa")


def decide(client, people, code, who, step, outcome, status=200, note="ตรวจแล้ว"):
    got, answer = post(client, people, code, who, {"step": step, "outcome": outcome, "note": note})
    assert got == status, answer
    drain()
    return answer


def current(client, people, code) -> dict:
    case = read(client, people, code)
    return case["steps"][-1]


def offered(client, people, code, who) -> tuple:
    case = client.get(f"/assignment/cases/{code}", headers=people.headers(who)).get_json()
    return tuple(o for a in case.get("actions") or [] for o in a["outcomes"])


def desk_page(client, code: str, lang: str) -> str:
    """The case's page on the desk, as the head sees it."""
    form = client.get("/assignment/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/assignment/login", data={"username": "u-head", "password": PASSWORD,
                                                      "csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/assignment/desk/cases/{code}?lang={lang}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def approvals_mailed() -> list[tuple[str, str]]:
    """(recipient, role) of every approval-needed email notify wrote."""
    return sorted((d.recipient, d.context.get("step_role")) for d in deliveries("approval_needed"))


def my_work(client, who: str) -> list[str]:
    """The cases on ``who``'s desk under "my work" (signed in with their password), and its total."""
    browser = client.__class__(client.application)  # a cookie jar of their own
    form = browser.get("/assignment/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert browser.post("/assignment/login", data={"username": who, "password": PASSWORD,
                                                   "csrf_token": token}).status_code == 302
    page = browser.get("/assignment/desk?lang=th").get_data(as_text=True)
    mine = page[page.index('id="my-work-total"'):]
    mine = mine[:mine.index("</table>")] if "</table>" in mine else ""
    return re.findall(r'<tr data-code="([^"]+)"', mine)


# ---------------------------------------------------------------------------------------------
# all_of: "หน.ภทส. และ หน.จรส."


def test_both_heads_find_the_memo_on_their_desks_until_each_has_decided(client, people):
    """"หน.ภทส. และ หน.จรส. ตรวจสอบ...": the step is held by one head, and the other, asked at the
    same time, finds it under their own work at once, not only after the first has decided; each
    head's decision takes it off their desk."""
    code = file(client, people, "onesqa/web-publish")
    drain()
    assert code in my_work(client, "u-head") and code in my_work(client, "u-subhead")
    decide(client, people, code, "u-subhead", "verify", "ok")
    assert code not in my_work(client, "u-subhead") and code in my_work(client, "u-head")
    assert code not in my_work(client, "u-officer")


@pytest.mark.parametrize("first, second", [("u-head", "u-subhead"), ("u-subhead", "u-head")],
                         ids=["head-first", "subhead-first"])
def test_verify_needs_both_heads_in_either_order(client, people, first, second):
    """"หน.ภทส. และ หน.จรส. ตรวจสอบความถูกต้องครบถ้วนของข้อมูล": both are asked at once, either checks first,
    and the memo goes on to be published only when both found it correct."""
    code = file(client, people, "onesqa/web-publish")
    drain()
    step = current(client, people, code)
    assert step["step"] == "verify" and step["approvals"] == [] and step["awaiting"] == ["head", "subhead"]
    # both heads were told of their new work: the step's holder by its start, the other when asked
    assert approvals_mailed() == [("u-head@office.example", "head"), ("u-subhead@office.example", "subhead")]
    [asked] = events(code, "case.approval_asked")
    assert [(p["role"], p["username"]) for p in asked["asked"]] == [("subhead", "u-subhead")]
    assert offered(client, people, code, first) == offered(client, people, code, second) == ("ok", "return")

    decide(client, people, code, first, "verify", "ok")
    step = current(client, people, code)
    first_role = "head" if first == "u-head" else "subhead"
    second_role = "subhead" if first_role == "head" else "head"
    assert step["step"] == "verify" and step["status"] == "active"  # one head is not enough
    assert [(a["role"], a["by"], a["outcome"]) for a in step["approvals"]] == [(first_role, first, "ok")]
    assert step["awaiting"] == [second_role] and step["assignee"] == second  # on the other head's desk
    assert offered(client, people, code, first) == ()  # decided: nothing more to choose
    assert offered(client, people, code, second) == ("ok", "return")
    # the desk says who has decided and who is still to decide, in Thai
    page = desk_page(client, code, "th")
    decided_row = re.search(rf'<li data-role="{first_role}" data-by="{first}">([^<]*)</li>', page).group(1)
    assert "ถูกต้องครบถ้วน" in decided_row  # the outcome's Thai label
    assert re.search(rf'<li class="awaiting" data-role="{second_role}">[^<]*รอการพิจารณา</li>', page)

    decide(client, people, code, second, "verify", "ok")
    case = read(client, people, code)
    assert case["current_step"] == "publish"
    verify = next(s for s in case["steps"] if s["step"] == "verify")
    assert [(a["role"], a["by"]) for a in verify["approvals"]] == [(first_role, first), (second_role, second)]
    assert verify["awaiting"] == [] and verify["outcome"] == "ok" and verify["actor"] == second
    kept = [(t.kind, t.actor, t.outcome, t.data.get("role")) for t in trail_of(code) if t.kind == "approval"]
    assert kept == [("approval", first, "ok", first_role), ("approval", second, "ok", second_role)]


def test_verify_one_head_finding_it_wrong_returns_the_memo_and_the_next_round_starts_over(client, people):
    """"หากดำเนินการไม่ถูกต้องหรือข้อมูลไม่ครบประสานและส่งบันทึกกลับต้นเรื่องเพื่อทำการแก้ไข": the head approved,
    the sub-unit head finds it wrong: the memo goes back at once. Corrected, it comes back to verify
    in a second round, where neither approval of the first round counts."""
    code = file(client, people, "onesqa/web-publish")
    decide(client, people, code, "u-head", "verify", "ok")
    decide(client, people, code, "u-subhead", "verify", "return", note="ขาดการอนุมัติตามสายบังคับบัญชา")
    case = read(client, people, code)
    assert case["current_step"] == "return-to-origin" and case["steps"][-1]["waiting_on"] == "requester"
    first = next(s for s in case["steps"] if s["step"] == "verify")
    assert [(a["role"], a["outcome"]) for a in first["approvals"]] == [("head", "ok"), ("subhead", "return")]
    assert len(events(code, "case.step_returned")) == 1

    # the originator's correction, recorded by the intake clerk on their behalf
    decide(client, people, code, "u-intake-clerk", "return-to-origin", "corrected")
    step = current(client, people, code)
    assert (step["step"], step["round"]) == ("verify", 2)
    assert step["approvals"] == [] and step["awaiting"] == ["head", "subhead"]
    assert offered(client, people, code, "u-head") == ("ok", "return")  # the head decides again
    decide(client, people, code, "u-head", "verify", "ok")
    assert current(client, people, code)["step"] == "verify"  # the first round's subhead word does not count
    decide(client, people, code, "u-subhead", "verify", "ok")
    assert read(client, people, code)["current_step"] == "publish"


def test_the_same_person_cannot_approve_twice(client, people):
    code = file(client, people, "onesqa/web-publish")
    decide(client, people, code, "u-head", "verify", "ok")
    answer = decide(client, people, code, "u-head", "verify", "ok", status=409)
    assert "decided already" in str(answer["errors"])
    step = current(client, people, code)
    assert step["step"] == "verify" and [a["by"] for a in step["approvals"]] == ["u-head"]


def test_a_delegate_approves_for_the_head_who_is_away(client, people):
    """The head is away; the officer they delegated to acts for them (``Actor.holds``): asked in
    their place, and the decision is kept as the head's role, by the delegate, for the head."""
    today = directory.today()
    directory.delegate("u-head", "u-officer", today, today + timedelta(days=5), created_by="u-admin-test")
    code = file(client, people, "onesqa/web-publish")
    step = current(client, people, code)
    assert step["assignee"] == "u-officer"  # the head's part goes to whom stands in for them
    decide(client, people, code, "u-officer", "verify", "ok")
    step = current(client, people, code)
    assert [(a["role"], a["by"], a["on_behalf_of"]) for a in step["approvals"]] == [("head", "u-officer", "u-head")]
    assert offered(client, people, code, "u-head") == ()  # the head's word is given, by their delegate
    decide(client, people, code, "u-subhead", "verify", "ok")
    assert read(client, people, code)["current_step"] == "publish"


# ---------------------------------------------------------------------------------------------
# in_order: the director, then the deputy director


def to_approve_budget(client, people) -> str:
    """An outsourced development at approve-budget: the steps before it are done through the
    engine as the pack leads (what they ask for is not what these tests are about)."""
    code = file(client, people, "onesqa/aqa-system-dev")
    for outcome in ("approve", "done", "done", "outsource", "done"):  # value-review ... write-tor
        with bus.unit_of_work() as uow:
            case = uow.session.scalar(select(Case).where(Case.tracking_code == code).with_for_update())
            engine = Engine(uow, case, packstore.sop_for(case.sop, case.pack_version))
            engine.complete(engine.current(), outcome, "u-officer", {}, None, None)
            uow.commit()
    drain()
    assert read(client, people, code)["current_step"] == "approve-budget"
    return code


def test_approve_budget_the_deputy_cannot_act_before_the_director(client, people):
    """"ถึงผู้อำนวยการเพื่อพิจารณาอนุมัติ ... เมื่อได้รับการอนุมัติแล้ว ... ถึงรองผู้อำนวยการ": the deputy's turn
    comes after the director's approval; then the deputy is asked, mailed, and completes the step."""
    code = to_approve_budget(client, people)
    step = current(client, people, code)
    assert step["assignee"] == "u-director" and step["awaiting"] == ["director", "deputy-director"]
    assert offered(client, people, code, "u-deputy-director") == ()
    answer = decide(client, people, code, "u-deputy-director", "approve-budget", "approve", status=403)
    assert "director decides first" in str(answer["errors"])
    assert events(code, "case.approval_asked") == []  # nobody but the director asked yet
    assert ("u-deputy-director@office.example", "deputy-director") not in approvals_mailed()

    decide(client, people, code, "u-director", "approve-budget", "approve")
    step = current(client, people, code)
    assert step["step"] == "approve-budget" and step["assignee"] == "u-deputy-director"
    assert step["awaiting"] == ["deputy-director"]
    [asked] = events(code, "case.approval_asked")
    assert [(p["role"], p["username"]) for p in asked["asked"]] == [("deputy-director", "u-deputy-director")]
    assert ("u-deputy-director@office.example", "deputy-director") in approvals_mailed()
    assert offered(client, people, code, "u-director") == ()

    decide(client, people, code, "u-deputy-director", "approve-budget", "approve")
    case = read(client, people, code)
    assert case["current_step"] == "invite-vendors"
    done = next(s for s in case["steps"] if s["step"] == "approve-budget")
    assert [(a["role"], a["by"]) for a in done["approvals"]] == [("director", "u-director"),
                                                                 ("deputy-director", "u-deputy-director")]


def test_approve_budget_the_directors_refusal_ends_the_step(client, people):
    """The director does not approve the principle and budget: the TOR and reference price never
    reach the deputy, and the requester is told to rethink (``inform-requester``)."""
    code = to_approve_budget(client, people)
    decide(client, people, code, "u-director", "approve-budget", "reject", note="งบประมาณไม่เพียงพอ")
    case = read(client, people, code)
    assert case["current_step"] == "inform-requester"
    done = next(s for s in case["steps"] if s["step"] == "approve-budget")
    assert [(a["role"], a["outcome"]) for a in done["approvals"]] == [("director", "reject")]
    assert events(code, "case.approval_asked") == [] and len(events(code, "case.step_rejected")) == 1


# ---------------------------------------------------------------------------------------------
# pack versions


def test_a_case_opened_on_a_version_keeps_its_rule_after_a_new_version_is_loaded(client, people, tmp_path, capsys):
    """A case opened while verify needed both heads keeps needing both after a version where either
    head decides alone is loaded; a case opened after it follows the new one."""
    shipped = find_sop("onesqa/web-publish").pack_version
    old = file(client, people, "onesqa/web-publish")
    data = yaml.safe_load((PACK_DIR / "onesqa.yaml").read_text(encoding="utf-8"))
    data["version"] = shipped + 1
    verify = next(s for s in data["sops"]["web-publish"]["steps"] if s["key"] == "verify")
    verify["role"] = ["head", "subhead"]  # any one of them
    path = tmp_path / "onesqa-any-head.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["packs", "load", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"onesqa version {shipped + 1}: upgraded"
    new = file(client, people, "onesqa/web-publish")
    assert (case_row(old).pack_version, case_row(new).pack_version) == (shipped, shipped + 1)

    for code in (old, new):
        decide(client, people, code, "u-head", "verify", "ok")
    assert read(client, people, old)["current_step"] == "verify"  # still both heads
    assert read(client, people, new)["current_step"] == "publish"  # either head
    assert "approvals" not in read(client, people, new)["steps"][0]
    decide(client, people, old, "u-subhead", "verify", "ok")
    assert read(client, people, old)["current_step"] == "publish"
