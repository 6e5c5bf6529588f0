## Moderation: reports, the moderation queue, hidden and pre-moderated comments

moderation-title = Moderation
moderation-link = Moderation queue
moderation-private = Only the working group and administrators see this page. The text of hidden comments and the reports stay private; the reason you give for hiding or rejecting a comment is public.
moderation-summary = { $pending } awaiting approval, { $reported } reported, { $hidden } hidden automatically pending review.
moderation-oldest = The oldest has waited { $age }.
moderation-age-minutes = { $count ->
    [one] { $count } minute
   *[other] { $count } minutes
}
moderation-age-hours = { $count ->
    [one] { $count } hour
   *[other] { $count } hours
}
moderation-age-days = { $count ->
    [one] { $count } day
   *[other] { $count } days
}
moderation-waiting = Waiting for a moderator
moderation-nothing-waiting = Nothing is waiting.
moderation-hidden-heading = Hidden comments
moderation-state-pending = Awaiting approval
moderation-state-reported = Reported
moderation-state-auto_hidden = Hidden automatically, pending review
moderation-state-hidden = Hidden
moderation-reports-count = { $count ->
    [one] { $count } report
   *[other] { $count } reports
}
moderation-public-reason = Public reason
moderation-public-reason-hint = Shown in the thread in place of the comment when you hide or reject it (for example "Contains personal data of a third person"). Optional for the other actions.
moderation-action-hide = Hide
moderation-action-restore = Restore
moderation-action-approve = Approve
moderation-action-reject = Reject
moderation-action-auto_hide = Hidden automatically
moderation-action-dismiss_reports = Dismiss the reports
moderation-done-hide = The comment is hidden.
moderation-done-restore = The comment is published again.
moderation-done-approve = The comment is approved and published.
moderation-done-reject = The comment is rejected.
moderation-done-dismiss_reports = The reports are dismissed; the comment stays published.
moderation-done-auto_hide = The comment is hidden.
moderation-actor-automatic = Automatic
moderation-author-blocked = Author blocked
moderation-block-author = Block the author
moderation-block-reason = Reason (shown to the author)
moderation-block-until = Until (leave empty for no end date)
moderation-block-submit = Block this account
moderation-author-account = The author's account
moderation-log = Latest moderation actions
moderation-log-empty = No action yet.
moderation-log-when = When
moderation-log-comment = Comment
moderation-log-action = Action
moderation-log-by = By
moderation-log-reason = Reason
moderation-premoderation-is-on = Pre-moderation is on: new comments from participants wait for approval before anyone else sees them.
moderation-premoderation-is-off = Pre-moderation is off: comments are published at once.
moderation-premoderation-turn-on = Turn pre-moderation on
moderation-premoderation-turn-off = Turn pre-moderation off
moderation-premoderation-on-done = Pre-moderation is on for this draft.
moderation-premoderation-off-done = Pre-moderation is off for this draft.

moderation-hidden-notice = Hidden by the moderators: { $reason }
moderation-rejected-notice = Not published by the moderators: { $reason }
moderation-awaiting = Awaiting moderation: only you and the moderators can see this comment until it is approved.
moderation-moderators-only = Hidden from the public; shown to you because you moderate this draft.
moderation-no-replies = This comment does not take replies.

moderation-report = Report
moderation-report-title = Report a comment
moderation-report-lead = You are reporting comment { $number } by { $name }. The moderators (the draft's working group and administrators) will review it; your report is not public.
moderation-report-reason = What is wrong with it?
moderation-reason-spam = Spam or advertising
moderation-reason-abuse = Abusive, threatening or hateful
moderation-reason-off_topic = Off-topic
moderation-reason-personal_data = It discloses personal data
moderation-reason-other = Something else
moderation-report-details = Explanation
moderation-report-details-optional = (required for "Something else")
moderation-report-details-hint = Up to 2,000 characters. Moderators read this, not the public.
moderation-report-submit = Send the report
moderation-report-cancel = Back to the comment
moderation-report-done = Thank you. The moderators will review this comment.

moderation-receipt-pending = Your comment was received. It is awaiting moderation and will be published once a moderator approves it. Keep this receipt: anyone can check it at this address.
receipt-status-pending = Awaiting moderation
receipt-status-hidden = Hidden by the moderators
receipt-status-rejected = Not published by the moderators
