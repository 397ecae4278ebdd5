"""(being written: see the issue-5 brief)"""


def on_calendar_changed(uow, event):
    raise NotImplementedError
