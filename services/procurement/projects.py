"""(being written: see the issue-5 brief)"""


def on_case_waiting(uow, event):
    raise NotImplementedError
