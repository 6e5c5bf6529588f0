# Administration: accounts, drafts and working groups.

admin-yes = Yes
admin-no = No
admin-choose = Choose…
admin-audit-title = Recent administrative actions
admin-audit-none = No administrative action has been recorded yet.
admin-audit-actor-user = by administrator #{ $id }
admin-audit-actor-cli = from the command line

admin-count-accounts = Accounts
admin-count-drafts = Drafts by status
admin-count-users = Accounts
admin-count-unverified = Email not confirmed
admin-count-blocked = Blocked now
admin-count-admins = Administrators

## Accounts
admin-users-title = Users
admin-users-search = Search by email or name
admin-users-search-hint = Any part of the address or the name; capital letters do not matter.
admin-users-search-submit = Search
admin-users-search-clear = Show everyone
admin-users-count = { $count ->
    [0] No accounts yet.
    [one] 1 account
   *[other] { $count } accounts
}
admin-users-count-matching = Accounts matching “{ $query }”: { $count }
admin-user-name = Name
admin-user-email = Email address
admin-user-respondent = Responding as
admin-user-verified = Email confirmed
admin-user-admin = Administrator
admin-user-blocked = Blocked
admin-user-created = Registered
admin-user-account = Account
admin-user-blocked-until = Until { $until }: { $reason }
admin-user-blocked-forever = Until lifted: { $reason }
admin-user-block = Block this account
admin-user-block-change = Change the block
admin-user-block-lead = A blocked person cannot sign in, and is signed out everywhere at once. They see the reason when they try to sign in.
admin-user-reason = Reason
admin-user-reason-hint = 3 to 500 characters. The person is shown it.
admin-user-until = Blocked until (optional)
admin-user-until-hint = The block ends at the end of this day, UTC. Leave it empty for a block that lasts until it is lifted.
admin-user-block-submit = Block account
admin-user-block-change-submit = Change block
admin-user-unblock-submit = Lift the block
admin-user-self-note = This is your own account: you cannot block it or remove your own administrator role.
admin-user-blocked-done = The account is blocked and its sessions have ended.
admin-user-unblocked-done = The block is lifted.
admin-user-role = Administrator role
admin-user-role-is-admin = This person is an administrator: they can manage accounts, drafts and working groups.
admin-user-role-not-admin = This person is not an administrator.
admin-user-grant-submit = Make administrator
admin-user-revoke-submit = Remove administrator role
admin-user-role-choose = Choose whether to grant or remove the administrator role.
admin-user-granted = This person is now an administrator.
admin-user-revoked = This person is no longer an administrator.

## Drafts
admin-drafts-title = Drafts
admin-drafts-count = { $count ->
    [0] No drafts yet.
    [one] 1 draft
   *[other] { $count } drafts
}
admin-draft-new = Create a draft
admin-draft-new-lead = The draft stays unpublished until you publish it with a consultation round. You can change everything until then.
admin-draft-create-submit = Create draft
admin-draft-updated = Last change
admin-draft-public-page = Public page
admin-draft-view-public = View
admin-draft-not-published = Not published
admin-draft-field-title = Title
admin-draft-field-kind = Kind of act
admin-draft-field-authority = Developing authority
admin-draft-field-summary = Summary
admin-draft-field-text = Text of the draft (Markdown)
admin-draft-field-opens_at = Comments open
admin-draft-field-closes_at = Comments close
admin-draft-field-status = Status
admin-draft-field-note = Note (optional)
admin-draft-title-hint = 3 to 300 characters. Leave it empty to use the title heading (# …) of the text.
admin-draft-title-edit-hint = 3 to 300 characters.
admin-draft-authority-hint = The ministry or agency that develops the act.
admin-draft-summary-hint = Plain text, up to 5,000 characters. Shown above the text.
admin-draft-text-hint = At most { $size }. “# Title”, then “## Chapter 1. …”, “### Article 1. …” and paragraphs. Optional now: you can add the text later.
admin-draft-reimport-hint = Paste the whole new text (at most { $size }). Provisions that did not change keep their keys, so comments stay attached to them.
admin-draft-created = { $provisions ->
    [0] The draft is created, without text yet.
    [one] The draft is created with 1 provision.
   *[other] The draft is created with { $provisions } provisions.
}
admin-draft-edited = The draft is updated.
admin-draft-imported = Text imported: { $provisions } provisions, { $kept } kept their keys, { $added } new, { $removed } removed.
admin-draft-text-missing = Paste the text of the draft.
admin-draft-about = About this draft
admin-draft-round = From { $opens } to { $closes }
admin-draft-working-label = Unpublished text
admin-draft-working = Version { $number }: { $provisions ->
    [0] no text yet
    [one] 1 provision
   *[other] { $provisions } provisions
}
admin-draft-members = { $count ->
    [0] No members yet
    [one] 1 member
   *[other] { $count } members
}
admin-draft-edit = Title, kind and summary
admin-draft-edit-submit = Save changes
admin-draft-reimport = Replace the text
admin-draft-reimport-submit = Import text
admin-draft-history-created = Created
admin-draft-history-move = { $from } → { $to }

admin-publish = Publish and open for comments
admin-publish-utc = All times are in UTC (Coordinated Universal Time), not your local time.
admin-publish-opens-hint = Leave it empty to open now.
admin-publish-closes-hint = A date alone means the end of that day.
admin-publish-submit = Publish
admin-publish-date-invalid = Enter a date and time like 2027-01-15 18:00.
admin-publish-closes-missing = Enter when the consultation closes.
admin-publish-closes-before-opens = Comments must close after they open.
admin-draft-published = Published as version { $number }. Comments are open until { $closes }.

admin-transition = Move to another status
admin-transition-to = New status
admin-transition-hint = Only the steps the lifecycle allows from here are offered. A draft opens by being published.
admin-transition-note-hint = Shown in the public status history.
admin-transition-submit = Change status
admin-transition-final = This status is final.
admin-transition-choose = Choose the new status.
admin-transition-note-long = The note must be at most 2,000 characters.
admin-draft-moved = The draft is now: { $status }.

## Working groups
admin-group-title = Working group
admin-group-lead = Members of the working group triage and answer the comments on this draft. The chair leads it.
admin-group-empty = Nobody is in this working group yet.
admin-group-role = Role
admin-group-role-chair = Chair
admin-group-role-member = Member
admin-group-role-of = Role of { $name }
admin-group-role-submit = Change role
admin-group-actions = Actions
admin-group-remove-submit = Remove
admin-group-add = Add a member
admin-group-email-hint = The email address of their account. They must have registered and confirmed it.
admin-group-add-submit = Add to the group
admin-group-added = { $email } is now in the working group.
admin-group-role-changed = The role is changed.
admin-group-removed = The member is removed from the working group.
