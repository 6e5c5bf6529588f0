org-kind-ngo = NGO or association
org-kind-business_association = Business association
org-kind-university = University or research institute
org-kind-public_body = Public body
org-kind-trade_union = Trade union

org-status-pending = Waiting for a decision
org-status-verified = Verified
org-status-declined = Declined
org-status-revoked = Revoked

nav-organizations = Organizations

# Public list and page
orgs-title = Organizations
orgs-lead = Associations, business associations, universities, public bodies and trade unions take part through representatives whose role an administrator has verified. Only organizations with at least one verified representative are listed.
orgs-search = Search organizations
orgs-search-label = Name or registration number
orgs-search-submit = Search
orgs-search-reset = Show all
orgs-count = { $count ->
    [0] No organization matches.
    [one] 1 organization
   *[other] { $count } organizations
}
orgs-col-name = Name
orgs-col-kind = Kind
orgs-represent-cta = Do you represent an organization? Ask to be verified
org-about = About this organization
org-kind = Kind
org-registration-number = Registration number
org-website = Website
org-website-none = Not given
org-representatives = Verified representatives
org-representatives-count = { $count ->
    [one] 1 person
   *[other] { $count } people
}
org-representatives-hint = Their names are shown with the comments they post for the organization.
org-represent = Do you represent this organization? Ask to be verified
org-back = All organizations

# The participant's own page
account-orgs-title = My organizations
account-orgs-lead = To comment on behalf of an organization, ask to be verified as its representative. An administrator checks your role and you get an email with the decision.
account-orgs-mine = My requests
account-orgs-none = You have not asked to represent an organization yet.
account-orgs-col-org = Organization
account-orgs-col-position = Your position
account-orgs-col-status = Status
account-orgs-col-asked = Asked
account-orgs-col-reason = Administrator's note
account-orgs-again = You can ask again: choose the organization in the form below, or correct its details.
account-orgs-unverified-title = Confirm your email address first
account-orgs-unverified = Only accounts with a confirmed email address can represent organizations. Follow the link we sent you when you registered.
account-orgs-request = Ask to represent an organization
account-orgs-find = Find your organization
account-orgs-find-label = Search the organizations already on Talqy
account-orgs-find-submit = Search
account-orgs-choice = Organization
account-orgs-choice-hint = Choose it from the list if it is already on Talqy. Otherwise choose “A new organization” and describe it below.
account-orgs-choice-new = A new organization (describe it below)
account-orgs-choice-more = Only the first { $shown } of { $total } organizations are listed. Search to find yours.
account-orgs-new = A new organization
account-orgs-new-hint = Fill this in only for a new organization. If an organization of the same kind with the same registration number is already known, your request is attached to it.
account-orgs-name = Full name of the organization
account-orgs-kind = Kind of organization
account-orgs-kind-choose = Choose the kind
account-orgs-number = Registration number
account-orgs-number-hint = As in the official register (for example the BIN). Letters, digits, spaces and - / . only.
account-orgs-website = Website (optional)
account-orgs-website-hint = An address starting with https:// or http://
account-orgs-position = Your position in the organization
account-orgs-position-hint = For example “Chair of the board” or “Head of the legal department”. 2 to 120 characters. It is shown to administrators only.
account-orgs-submit = Send the request
account-orgs-sent = Your request to represent { $name } has been sent. An administrator will check it and you will get an email with the decision.
account-orgs-sent-attached = An organization of this kind with this registration number is already known as { $name }: your request was added to it. An administrator will check it and you will get an email with the decision.
org-request-unverified = Confirm your email address before asking to represent an organization: follow the link we sent you when you registered.

# Administration
admin-orgs-link = Organization representatives
admin-orgs-title = Organization representatives
admin-orgs-counts = Requests by status
admin-orgs-pending = Waiting for a decision
admin-orgs-pending-none = No request is waiting.
admin-orgs-history = Recent decisions
admin-orgs-history-none = No decision yet.
admin-orgs-col-org = Organization
admin-orgs-col-person = Person
admin-orgs-col-position = Position
admin-orgs-col-asked = Asked
admin-orgs-col-waiting = Waiting
admin-orgs-col-status = Status
admin-orgs-col-decided = Decided
admin-orgs-col-reason = Reason
admin-orgs-waiting = { $days ->
    [0] less than a day
    [one] 1 day
   *[other] { $days } days
}
admin-orgs-open = Open the request of { $name } for { $org }
admin-org-request-title = Request to represent { $org }
admin-org-back = All requests
admin-org-person = The person
admin-org-email = Email
admin-org-name = Name
admin-org-respondent = Registered as
admin-org-account-since = Account created
admin-org-email-confirmed = Email confirmed
admin-org-organization = The organization
admin-org-created = First known on
admin-org-public = Public page
admin-org-public-none = None yet (no verified representative)
admin-org-request = The request
admin-org-position = Position
admin-org-status = Status
admin-org-asked = Asked
admin-org-decided = Decided
admin-org-decided-by = Decided by
admin-org-reason = Reason or note
admin-org-others = Other requests for this organization
admin-org-others-none = None.
admin-org-history = History
admin-org-col-when = When
admin-org-col-action = What
admin-org-col-who = Who
admin-org-col-detail = Details
admin-org-action-request = Asked
admin-org-action-verify = Verified
admin-org-action-decline = Declined
admin-org-action-revoke = Revoked
admin-org-verify = Verify
admin-org-verify-lead = Verify when you have checked that this person holds this position in the organization (for example through the organization's website, a letter on its letterhead, or a call to its office).
admin-org-note = Note to the person (optional)
admin-org-note-hint = 3 to 500 characters. Sent by email with the decision.
admin-org-verify-submit = Verify this representative
admin-org-decline = Decline
admin-org-reason-label = Reason
admin-org-reason-hint = Required, 3 to 500 characters. Sent to the person by email.
admin-org-decline-submit = Decline the request
admin-org-revoke = Revoke
admin-org-revoke-lead = Revoking ends this person's right to act for the organization. Their past comments stay as they are.
admin-org-revoke-submit = Revoke the representation
admin-org-closed = This request is { $status }. Nothing more to decide.
admin-org-done-verify = The representation is verified and the person has been emailed.
admin-org-done-decline = The request is declined and the person has been emailed the reason.
admin-org-done-revoke = The representation is revoked and the person has been emailed the reason.
