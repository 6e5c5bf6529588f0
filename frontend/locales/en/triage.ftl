## Triage (working group) and public answers

triage-title = Triage
triage-link = Triage comments
triage-private = Only the working group and administrators see this page. Status, assignee, tags and notes are private; the answer is public.
triage-counts = Comments by status
triage-status = Status
triage-status-all = All
triage-status-new = New
triage-status-in_review = In review
triage-status-decided = Decided
triage-filters = Filter and sort comments
triage-provision = Provision
triage-stance = Stance
triage-whole-draft = The draft as a whole
triage-organization = Organization
triage-org-any = Any organization
triage-org-none = Individuals only
triage-tag = Tag
triage-tags = Tags
triage-assignee = Assignee
triage-unassigned = Unassigned
triage-assigned-to-me = Assigned to me
triage-nobody = Nobody
triage-text = Text contains
triage-clear-filters = Clear filters
triage-sort-oldest = Oldest first
triage-sort-newest = Newest first
triage-sort-endorsed = Most endorsed
triage-sort-provision = By provision
triage-count = { $count ->
    [0] No comments match.
    [one] 1 comment matches.
   *[other] { $count } comments match.
}
triage-select-col = Select
triage-select = Select comment { $number }
triage-comment = Comment
triage-author = Author
triage-decision = Decision
triage-reply = Reply
triage-withdrawn = Withdrawn

triage-bulk-heading = With the selected comments
triage-bulk-hint = Tick comments in the table, then choose one action. It applies to exactly the ticked comments.
triage-bulk-assign = Assign
triage-bulk-assign-submit = Assign selected
triage-bulk-tag = Add a tag
triage-bulk-tag-submit = Tag selected
triage-bulk-status = Set the status
triage-bulk-status-submit = Set status of selected
triage-bulk-answer = Answer them together
triage-bulk-answer-hint = One decision and one justification for all selected comments. Each author is told by email.
triage-bulk-answer-submit = Publish answer to selected
triage-bulk-done = { $count ->
    [0] Nothing needed changing.
    [one] 1 comment updated.
   *[other] { $count } comments updated.
}

triage-comment-title = Triage of comment { $number }
triage-public-page = Public page of the comment
triage-thread = The whole thread
triage-open = Triage
triage-this-comment = This comment
triage-work = Working group
triage-status-decided-hint = This comment has an answer, so it is decided. Change the answer below if needed.
triage-status-submit = Set status
triage-assign-submit = Assign
triage-no-tags = No tags yet.
triage-untag = Remove
triage-add-tag = Add a tag
triage-add-tag-submit = Add tag
triage-notes = Internal notes
triage-notes-hint = Notes are private to the working group and administrators.
triage-note = Note
triage-note-submit = Add note
triage-no-notes = No notes yet.
triage-answer = Public answer
triage-answer-current = Published answer:
triage-answer-hint = The answer is published under the comment with the working group's name and the date, and the author is told by email.
triage-answer-submit = Publish answer
triage-answer-change = Change answer
triage-justification = Justification
triage-justification-hint = Public. Explain the decision in 20 to 5,000 characters; blank lines separate paragraphs.
triage-duplicate-of = Duplicate of
triage-duplicate-of-hint = Only for the decision “duplicate”: the number or tracking number (TLQ-…) of the original comment on this draft.

triage-assigned = The assignee is saved.
triage-tagged = The tag is added.
triage-untagged = The tag is removed.
triage-noted = The note is added.
triage-status-done = The status is saved.
triage-disposition-done = The answer is published and the author will be told by email.
triage-no-change = Nothing changed.

decision-accepted = Accepted
decision-partially_accepted = Partially accepted
decision-rejected = Rejected
decision-noted = Noted
decision-duplicate = Duplicate

disposition-heading = Answer of the working group
disposition-byline = Answer of the { $group }
disposition-changed = changed on { $date }
disposition-duplicate-of = Answered together with the comment it duplicates:

admin-activity-title = Activity
admin-activity-link = Activity log of this draft
admin-activity-lead = Every recorded action on this draft and its comments, newest first.
admin-activity-empty = Nothing recorded yet.
admin-activity-when = When
admin-activity-who = Who
admin-activity-action = Action
admin-activity-subject = Subject
admin-activity-detail = Detail
admin-activity-system = System
