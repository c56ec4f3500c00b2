"""Corrections (纠错): anyone reports a problem with an item; the item's department and the
reviewers of its region answer it, and an accepted suggestion becomes a change request.

A report needs no key. Its contact (optional) is personal data: it is shown to the
editors of the item's department only, never in a public answer, the change feed, the
exports, search or the logs, and it is erased after ``CATALOGUE_CONTACT_RETENTION_DAYS``
(``catalogue corrections erase-contacts``, and hourly in every long-running process kind:
app/corrections/retention.py). Corrections
are not changes of an item: they write no version and no change-log row.
"""
