"""(being written: see the issue-5 brief)"""
