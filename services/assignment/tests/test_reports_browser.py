"""The reports' dashboard in headless Chromium, in Thai, as onesqa's director reads it: the year's
figures over the hand-made cases of test_reports, the charts drawn, no English key on the page,
and a figure followed to the cases behind it; then the same for a quarter."""
from __future__ import annotations

import os
import re

import pytest

from services.assignment.tests.test_reports import FY, year  # noqa: F401  (the hand-made year)

pytestmark = [pytest.mark.browser, pytest.mark.org("onesqa")]


def test_a_director_reads_the_year_in_thai_and_follows_a_figure_to_its_cases(live_server, browser_page, people,
                                                                            year, client):  # noqa: F811
    from services.assignment.tests.conftest import PASSWORD

    expected = client.get("/assignment/reports/kpis", query_string={"fiscal_year": FY, "org": "onesqa"},
                          headers=people.headers("u-director")).get_json()
    page, base = browser_page, live_server
    page.goto(f"{base}/assignment/login?lang=th")
    page.fill("#username", "u-director")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/assignment/desk")
    page.click("#nav-reports")  # the menu offers the reports to a director
    page.wait_for_url(re.compile(r".*/assignment/desk/reports"))
    page.select_option("#fiscal_year", str(FY))
    page.click("#apply-filters")
    page.wait_for_selector("#tiles")

    assert f"ปีงบประมาณ พ.ศ. {FY}" in page.inner_text("#report-title")
    assert "1 ตุลาคม 2568" in page.inner_text("#report-scope")  # the period in the Buddhist era
    assert page.inner_text("#tile-received .figure") == str(expected["totals"]["received"])
    # the four charts are drawn, with a bar for each month of the year
    for chart in ("chart-volumes", "chart-on-time", "chart-ageing", "chart-satisfaction"):
        assert page.locator(f"svg#{chart}").count() == 1, chart
        box = page.locator(f"svg#{chart}").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 50, chart
    assert page.locator("svg#chart-volumes rect.bar").count() == 24  # received and closed, 12 months
    assert "ต.ค. 2568" in page.text_content("svg#chart-volumes")
    body = page.inner_text("body")
    assert not re.search(r"\b(report|nav|list)\.[a-z_]+", body), "an English key on the Thai page"
    if os.environ.get("SOPDESK_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SOPDESK_SCREENSHOTS"], "reports.png"), full_page=True)

    # a figure leads to its cases: equipment-support's received, in the case list
    sop = next(s for s in expected["sops"] if s["sop"] == "onesqa/equipment-support")
    page.click("tr[data-sop='onesqa/equipment-support'] a.received")
    page.wait_for_url(re.compile(r".*/assignment/desk/cases\?.*sop=onesqa(%2F|/)equipment-support.*"))
    rows = page.locator("[data-code]")
    assert rows.count() == sop["received"]
    codes = {rows.nth(i).get_attribute("data-code") for i in range(rows.count())}
    assert codes == {"SD-FIG-E1", "SD-FIG-E2", "SD-FIG-N"}

    # the third quarter: the month bars are April to June only
    page.goto(f"{base}/assignment/desk/reports?fiscal_year={FY}&quarter=3&org=onesqa")
    assert page.locator("svg#chart-volumes rect.bar").count() == 6
    assert "เม.ย. 2569" in page.text_content("svg#chart-volumes")
    # one month, chosen from the fiscal year's months: April 2569, E1 received and closed in it
    page.select_option("#quarter", "")
    page.select_option("#month", "4")
    page.click("#apply-filters")
    page.wait_for_selector("#tiles")
    assert page.locator("svg#chart-volumes rect.bar").count() == 2
    assert page.inner_text("#tile-received .figure") == "1"
    # a bad filter: a field message in Thai, a 422, nothing else
    response = page.goto(f"{base}/assignment/desk/reports?fiscal_year=abc")
    assert response.status == 422
    assert "ปีงบประมาณเป็นปี พ.ศ." in page.inner_text("#error-fiscal_year")
