"""(being written: see the issue-5 brief)"""


def check_requested_asset(uow, event):
    raise NotImplementedError


def on_vendor_wait(uow, event):
    raise NotImplementedError


def on_vendor_wait_ended(uow, event):
    raise NotImplementedError
