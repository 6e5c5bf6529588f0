discussion-heading = Comments
discussion-heading-draft = Comments on the draft as a whole
discussion-draft-link = Comments on the draft as a whole
comments-count = { $count ->
    [0] No comments yet.
    [one] 1 comment
   *[other] { $count } comments
}
threads-count = { $count ->
    [0] No comments yet.
    [one] 1 thread
   *[other] { $count } threads
}
comments-sort-filter = Sort and filter comments
comments-sort = Sort by
comments-sort-oldest = Oldest first
comments-sort-newest = Newest first
comments-sort-endorsed = Most endorsed
comments-respondent = Respondent
comments-orgs-only = Organizations only
provision-comments = { $count ->
    [0] Comment
    [one] 1 comment
   *[other] { $count } comments
}
provision-discuss = Discuss { $name }

stance-support = Supports
stance-object = Objects
stance-propose_change = Proposes a change
stance-question = Asks a question
stance-choice-support = I support it
stance-choice-object = I object to it
stance-choice-propose_change = I propose a change
stance-choice-question = I have a question

comment-form-heading = Add your comment
comment-reply-heading = Reply to this thread
comment-stance = Your position
comment-quote = Quote from the provision
comment-quote-hint = Optional. Copy the words your comment is about.
comment-body = Your comment
comment-body-hint = Up to 10,000 characters. You can use Markdown: *emphasis*, lists, links.
comment-proposed-wording = Proposed wording
comment-proposed-hint = Optional. How you would word the provision instead.
comment-optional = (optional)
comment-on-behalf = Comment as
comment-on-behalf-self = Myself
comment-public-notice = Your comment, your name and your respondent type will be published. You get a receipt with a tracking number.
comment-submit = Publish comment
comment-reply-submit = Publish reply
comment-sign-in = Sign in to comment
comment-closed = Comments are closed: the consultation ended on { $date }.
comment-not-yet = Comments open on { $date }.
comment-old-version = You are reading an earlier version. Comment on the current version.
comment-edited = edited
comment-withdrawn = Withdrawn by the author.
comment-permalink = Permalink
comment-endorse = Endorse
comment-endorsed = Endorsed
comment-endorsements = { $count ->
    [0] No endorsements
    [one] 1 endorsement
   *[other] { $count } endorsements
}
comment-reply = Reply
comment-reply-to = In reply to { $name }
thread-more-replies = { $count ->
    [one] Show the whole thread (1 more reply)
   *[other] Show the whole thread ({ $count } more replies)
}
comment-edit = Edit
comment-withdraw = Withdraw
comment-withdraw-done = Your comment was withdrawn. The thread keeps a placeholder.
comment-version = On version { $number }
comment-former-participant = Former participant
comment-thread-title = Comment by { $name }
comment-edit-title = Edit your comment
comment-edit-lead = You can edit a comment for 15 minutes after posting. Earlier wording stays on record with the receipt.
comment-edit-save = Save changes
comment-edit-cancel = Cancel
comment-edit-done = Your comment was updated.
comment-endorse-done = Thank you: your endorsement is counted.

receipt-title = Receipt
receipt-posted = Your comment is published. Keep this receipt: anyone can check it at this address.
receipt-lead = This receipt shows that the comment was received and stored. The hash is a fingerprint of its content: any change to the text would change it.
receipt-number = Tracking number
receipt-time = Received
receipt-draft = Draft
receipt-provision = Provision
receipt-whole-draft = The draft as a whole
receipt-status = Status
receipt-hash = SHA-256 of the content
receipt-revisions = Revisions
receipt-see-comment = See the comment
receipt-status-published = Published
receipt-status-withdrawn = Withdrawn by the author
