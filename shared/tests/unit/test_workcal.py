"""Thai working time (shared.workcal): holidays, deadlines, fiscal years, the office-hours setting."""
import time as stopwatch
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shared.config import ENV_VARS, ConfigError, Settings
from shared.workcal import (
    WorkingCalendar, calendar_for, calendar_from_days, fiscal_year, fiscal_year_be, fiscal_year_bounds, parse_office_hours,
)

BKK = ZoneInfo("Asia/Bangkok")
UTC = timezone.utc
CAL = WorkingCalendar()


def bkk(y, mo, d, h=0, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=BKK)


def local(t):
    assert t.utcoffset() == timedelta(0), "results are UTC-aware"
    return t.astimezone(BKK).replace(tzinfo=None)


# -- holidays -------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, th_part, en_part", [
    (date(2025, 12, 5), "วันพ่อแห่งชาติ", "Father's Day"),
    (date(2025, 12, 10), "วันรัฐธรรมนูญ", "Constitution Day"),
    (date(2026, 4, 13), "วันสงกรานต์", "Songkran"),
    (date(2026, 4, 14), "วันสงกรานต์", "Songkran"),
    (date(2026, 4, 15), "วันสงกรานต์", "Songkran"),
    (date(2026, 7, 28), "วันเฉลิมพระชนมพรรษา", "Birthday"),
    (date(2027, 1, 1), "วันขึ้นปีใหม่", "New Year"),
    (date(2026, 5, 13), "วันพืชมงคล", "Ploughing"),  # government offices only
])
def test_known_thai_holidays(day, th_part, en_part):
    assert day.weekday() < 5  # a weekday the office would otherwise work
    assert not CAL.is_working_day(day)
    assert th_part in CAL.holiday_name(day)
    assert th_part in CAL.holiday_name(day, lang="th")
    assert en_part in CAL.holiday_name(day, lang="en")
    assert day in CAL.holidays(day.year)


@pytest.mark.parametrize("substitute, holiday, th_part", [
    (date(2025, 4, 7), date(2025, 4, 6), "วันพระบาทสมเด็จพระพุทธยอดฟ้าจุฬาโลกมหาราช"),  # Chakri Day on a Sunday
    (date(2025, 5, 5), date(2025, 5, 4), "วันฉัตรมงคล"),  # Coronation Day on a Sunday
    (date(2026, 12, 7), date(2026, 12, 5), "วันพ่อแห่งชาติ"),  # Father's Day on a Saturday
    (date(2027, 7, 20), date(2027, 7, 18), "วันอาสาฬหบูชา"),  # Asarnha Bucha on a Sunday, Mon is Lent
])
def test_substitution_days_are_days_off(substitute, holiday, th_part):
    assert holiday.weekday() >= 5 and substitute.weekday() < 5
    assert not CAL.is_working_day(substitute)
    th = CAL.holiday_name(substitute, "th")
    assert th.startswith("ชดเชย") and th_part in th
    assert "in lieu" in CAL.holiday_name(substitute, "en")


def test_ordinary_days():
    assert CAL.is_working_day(date(2026, 2, 9))  # a Monday
    assert CAL.holiday_name(date(2026, 2, 9)) is None
    assert not CAL.is_working_day(date(2026, 2, 7)) and not CAL.is_working_day(date(2026, 2, 8))
    assert CAL.holiday_name(date(2026, 2, 7)) is None  # weekends are not named
    assert CAL.is_working_day(date(2026, 1, 16))  # Teachers' Day: schools only
    with pytest.raises(ValueError, match="language"):
        CAL.holiday_name(date(2026, 4, 13), lang="fr")


def test_added_and_removed_holidays():
    cal = WorkingCalendar(added_holidays={date(2026, 11, 20): "วันหยุดพิเศษ (มติ ครม.)"},
                          removed_holidays={date(2026, 5, 1)})
    assert CAL.is_working_day(date(2026, 11, 20)) and not cal.is_working_day(date(2026, 11, 20))
    assert cal.holiday_name(date(2026, 11, 20)) == "วันหยุดพิเศษ (มติ ครม.)"
    assert not CAL.is_working_day(date(2026, 5, 1))  # Labour Day, per the library
    assert cal.is_working_day(date(2026, 5, 1)) and cal.holiday_name(date(2026, 5, 1)) is None
    days = cal.holidays(2026)
    assert days[date(2026, 11, 20)] == "วันหยุดพิเศษ (มติ ครม.)"
    assert date(2026, 5, 1) not in days and date(2026, 5, 1) in CAL.holidays(2026)
    assert list(days) == sorted(days) and all(d.year == 2026 for d in days)
    assert "Songkran Festival" in cal.holidays(2026, lang="en").values()


def test_an_admins_calendar_rows_read_the_same_in_every_service():
    """holiday adds one, workday takes one away, reset leaves the library's word."""
    from types import SimpleNamespace as Row

    settings = Settings()
    rows = [Row(day=date(2026, 11, 20), kind="holiday", name="วันหยุดพิเศษ (มติ ครม.)"),
            Row(day=date(2026, 5, 1), kind="workday", name=None),
            Row(day=date(2026, 4, 13), kind="reset", name=None)]
    cal = calendar_from_days(settings, rows)
    assert not cal.is_working_day(date(2026, 11, 20)) and cal.holiday_name(date(2026, 11, 20)) == rows[0].name
    assert cal.is_working_day(date(2026, 5, 1))  # Labour Day, made a working day
    assert not cal.is_working_day(date(2026, 4, 13)) and not CAL.is_working_day(date(2026, 4, 13))  # Songkran
    plain = calendar_for(settings)
    assert [d for d in cal.holidays(2026) if d not in plain.holidays(2026)] == [date(2026, 11, 20)]


# -- deadlines ------------------------------------------------------------------------------------

def test_one_day_before_songkran_lands_after_it():
    # Fri 10 Apr 2026 is the last working day before Songkran (Mon 13 - Wed 15 Apr)
    assert local(CAL.add_days(bkk(2026, 4, 10, 10), 1)) == datetime(2026, 4, 16, 10)
    assert local(CAL.add_duration(bkk(2026, 4, 10, 10), 8, "hours")) == datetime(2026, 4, 16, 10)


def test_deadline_across_a_weekend():
    assert local(CAL.add_days(bkk(2026, 2, 6, 10), 1)) == datetime(2026, 2, 9, 10)  # Fri -> Mon
    assert local(CAL.add_days(bkk(2026, 2, 9, 10), 2)) == datetime(2026, 2, 11, 10)  # Mon -> Wed
    assert local(CAL.add_days(bkk(2026, 2, 9, 10), 5)) == datetime(2026, 2, 16, 10)


def test_deadline_across_added_and_removed_holidays():
    start = bkk(2026, 11, 19, 10)  # a Thursday
    assert local(CAL.add_days(start, 1)) == datetime(2026, 11, 20, 10)
    cal = WorkingCalendar(added_holidays={date(2026, 11, 20): "วันหยุดพิเศษ"})
    assert local(cal.add_days(start, 1)) == datetime(2026, 11, 23, 10)
    # Thu 30 Apr 2026: Fri 1 May is Labour Day and Mon 4 May Coronation Day
    assert local(CAL.add_days(bkk(2026, 4, 30, 10), 1)) == datetime(2026, 5, 5, 10)
    worked = WorkingCalendar(removed_holidays={date(2026, 5, 1)})
    assert local(worked.add_days(bkk(2026, 4, 30, 10), 1)) == datetime(2026, 5, 1, 10)


def test_a_deadline_that_uses_up_a_day_ends_at_closing_time():
    monday = bkk(2026, 2, 9, 8, 30)
    assert local(CAL.add_days(monday, 1)) == datetime(2026, 2, 9, 16, 30)
    assert local(CAL.add(monday, 480)) == datetime(2026, 2, 9, 16, 30)
    assert local(CAL.add(monday, 481)) == datetime(2026, 2, 10, 8, 31)
    assert local(CAL.add_days(bkk(2026, 2, 6, 8, 30), 1)) == datetime(2026, 2, 6, 16, 30)  # Fri, not Mon


@pytest.mark.parametrize("start, expected", [
    (bkk(2026, 2, 9, 7, 0), datetime(2026, 2, 9, 9, 30)),  # before opening
    (bkk(2026, 2, 9, 16, 30), datetime(2026, 2, 10, 9, 30)),  # at closing
    (bkk(2026, 2, 9, 19, 45), datetime(2026, 2, 10, 9, 30)),  # after closing
    (bkk(2026, 2, 7, 11, 0), datetime(2026, 2, 9, 9, 30)),  # Saturday
    (bkk(2026, 4, 13, 10, 0), datetime(2026, 4, 16, 9, 30)),  # Songkran
    (bkk(2026, 4, 10, 23, 0), datetime(2026, 4, 16, 9, 30)),  # Friday night before Songkran
    (datetime(2026, 2, 9, 1, 0, tzinfo=UTC), datetime(2026, 2, 9, 9, 30)),  # 08:00 Bangkok, given in UTC
])
def test_start_outside_office_hours_counts_from_the_next_opening(start, expected):
    assert local(CAL.add(start, 60)) == expected
    assert local(CAL.next_working_moment(start)) == expected - timedelta(hours=1)
    assert CAL.add(start, 0) == CAL.next_working_moment(start)


def test_inside_office_hours_zero_minutes_is_the_start_itself():
    start = datetime(2026, 2, 9, 3, 15, tzinfo=UTC)  # 10:15 Bangkok
    result = CAL.add(start, 0)
    assert result == start and result.tzinfo == UTC
    assert CAL.next_working_moment(start) == start
    assert CAL.is_working_moment(start) and not CAL.is_working_moment(bkk(2026, 2, 9, 16, 30))


def test_working_minutes_between():
    assert CAL.working_minutes_between(bkk(2026, 2, 9, 10), bkk(2026, 2, 9, 11)) == 60
    assert CAL.working_minutes_between(bkk(2026, 2, 6, 16), bkk(2026, 2, 9, 9)) == 60  # Fri 30' + Mon 30'
    assert CAL.working_minutes_between(bkk(2026, 2, 9, 11), bkk(2026, 2, 9, 10)) == 0
    assert CAL.working_minutes_between(bkk(2026, 4, 11), bkk(2026, 4, 16)) == 0  # weekend + Songkran
    assert CAL.working_minutes_between(bkk(2026, 2, 9, 10), bkk(2026, 2, 9, 10, 0, 59)) == 0


def test_units_and_bad_arguments():
    start = bkk(2026, 2, 9, 10)
    assert CAL.add_duration(start, 90, "minutes") == CAL.add(start, 90)
    assert CAL.add_duration(start, 3, "hours") == CAL.add(start, 180)
    assert CAL.add_duration(start, 2, "days") == CAL.add_days(start, 2)
    with pytest.raises(ValueError, match="unit"):
        CAL.add_duration(start, 1, "weeks")
    with pytest.raises(ValueError, match="negative"):
        CAL.add(start, -1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add(datetime(2026, 2, 9, 10), 1)
    with pytest.raises(ValueError, match="close after"):
        WorkingCalendar(opens=time(16, 30), closes=time(8, 30))


def test_other_office_hours():
    cal = WorkingCalendar(opens=time(9), closes=time(17, 30))
    assert cal.minutes_per_day == 510 and CAL.minutes_per_day == 480
    assert local(cal.add_days(bkk(2026, 2, 9, 9), 1)) == datetime(2026, 2, 9, 17, 30)


def test_far_deadlines_are_fast():
    began = stopwatch.perf_counter()
    end = CAL.add_days(bkk(2025, 1, 2, 9), 500)
    assert CAL.working_minutes_between(bkk(2025, 1, 2, 9), end) == 500 * 480
    assert stopwatch.perf_counter() - began < 1.0


# -- properties -----------------------------------------------------------------------------------

ZONES = [UTC, BKK, ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), timezone(timedelta(hours=-9, minutes=-30))]
starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31, 23, 59),
                      timezones=st.sampled_from(ZONES))
minutes = st.integers(min_value=0, max_value=20000)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(starts, minutes)
def test_add_then_count_gives_back_the_minutes(start, m):
    assert CAL.working_minutes_between(start, CAL.add(start, m)) == m


@PROPERTY
@given(starts, minutes, minutes)
def test_add_composes(start, a, b):
    if b > 0:
        assert CAL.add(CAL.add(start, a), b) == CAL.add(start, a + b)
    else:  # ending exactly at closing time, then adding nothing, moves on to the next opening
        assert CAL.add(CAL.add(start, a), 0) == CAL.next_working_moment(CAL.add(start, a))


@PROPERTY
@given(starts, minutes, st.integers(min_value=1, max_value=2000))
def test_add_is_increasing_in_minutes(start, m, more):
    assert CAL.add(start, m) < CAL.add(start, m + more)


@PROPERTY
@given(starts, minutes)
def test_result_is_within_office_hours_of_a_working_day(start, m):
    result = CAL.add(start, m)
    assert result.utcoffset() == timedelta(0)
    at = result.astimezone(BKK)
    assert CAL.is_working_day(at.date())
    if m == 0:
        assert time(8, 30) <= at.time() < time(16, 30)
        assert result >= start
    else:  # a deadline that uses up a day ends at closing time
        assert time(8, 30) < at.time() <= time(16, 30)
        assert result > start


@PROPERTY
@given(starts, st.integers(min_value=0, max_value=60))
def test_add_days_lands_on_a_working_day(start, n):
    assert CAL.is_working_day(CAL.add_days(start, n).astimezone(BKK).date())


# -- fiscal year ----------------------------------------------------------------------------------

def test_fiscal_year():
    assert fiscal_year(date(2025, 9, 30)) == 2025 and fiscal_year_be(date(2025, 9, 30)) == 2568
    assert fiscal_year(date(2025, 10, 1)) == 2026 and fiscal_year_be(date(2025, 10, 1)) == 2569
    assert fiscal_year(date(2026, 9, 30)) == 2026
    # an aware datetime counts in Bangkok: 30 Sep 18:00 UTC is already 1 Oct there
    assert fiscal_year(datetime(2025, 9, 30, 18, tzinfo=UTC)) == 2026
    assert fiscal_year(datetime(2025, 9, 30, 18)) == 2025
    assert fiscal_year_bounds(2569) == (date(2025, 10, 1), date(2026, 9, 30))
    assert fiscal_year_bounds(2568) == (date(2024, 10, 1), date(2025, 9, 30))
    first, last = fiscal_year_bounds(2569)
    assert fiscal_year_be(first) == fiscal_year_be(last) == 2569
    with pytest.raises(ValueError, match="Buddhist era"):
        fiscal_year_bounds(2026)


# -- office hours setting -------------------------------------------------------------------------

def test_parse_office_hours():
    assert parse_office_hours("08:30-16:30") == (time(8, 30), time(16, 30))
    assert parse_office_hours(" 8:00 - 17:15 ") == (time(8), time(17, 15))


@pytest.mark.parametrize("bad, reason", [
    ("", "HH:MM-HH:MM"),
    ("08:30", "HH:MM-HH:MM"),
    ("8.30-16.30", "HH:MM-HH:MM"),
    ("08:30-25:00", "not a time of day"),
    ("08:60-16:30", "not a time of day"),
    ("16:30-08:30", "close after they open"),
    ("08:30-08:30", "close after they open"),
])
def test_parse_office_hours_rejects(bad, reason):
    with pytest.raises(ValueError, match=reason):
        parse_office_hours(bad)


def test_settings_read_office_hours(tmp_path):
    assert "SOPDESK_OFFICE_HOURS" in ENV_VARS
    default = Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path)})
    assert default.office_hours == "08:30-16:30"
    assert calendar_for(default).minutes_per_day == 480
    custom = Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_OFFICE_HOURS": "9:00-17:00"})
    assert custom.office_hours == "09:00-17:00"
    cal = calendar_for(custom, added_holidays={date(2026, 2, 9): "วันหยุดพิเศษ"},
                       removed_holidays={date(2026, 5, 1)})
    assert (cal.opens, cal.closes) == (time(9), time(17))
    assert not cal.is_working_day(date(2026, 2, 9)) and cal.is_working_day(date(2026, 5, 1))
    with pytest.raises(ConfigError, match="SOPDESK_OFFICE_HOURS"):
        Settings.from_env({"SOPDESK_DATA_DIR": str(tmp_path), "SOPDESK_OFFICE_HOURS": "17:00-09:00"})
