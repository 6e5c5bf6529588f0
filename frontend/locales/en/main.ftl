site-name = Talqy
site-tagline = Public consultation on draft normative acts
skip-to-content = Skip to main content
nav-main = Main
nav-home = Home
nav-drafts = All drafts
footer-text = Talqy publishes drafts of normative acts for public comment. Every comment gets a public answer.
footer-privacy = Privacy

home-title = Public consultations
home-lead = Read draft laws, concepts and regulations before they are adopted, and tell the authors what you think.
home-open = Open for comments
home-open-none = No consultation is open right now.
home-recent = Recently updated
home-all-drafts = See all drafts

days-left = { $count ->
    [0] closes today
    [one] 1 day left
   *[other] { $count } days left
}
round-opens = Opens { $date }
round-closes = Comments until { $date }
round-closed = Closed on { $date }
round-label = Consultation round

drafts-title = Drafts
drafts-filter = Filter drafts
drafts-filter-status = Status
drafts-filter-kind = Kind of act
drafts-filter-authority = Developing authority
drafts-filter-any = Any
drafts-filter-apply = Apply filters
drafts-filter-reset = Clear filters
drafts-count = { $count ->
    [0] No drafts match.
    [one] 1 draft
   *[other] { $count } drafts
}
pagination = Pages
pagination-prev = Previous page
pagination-next = Next page
pagination-status = Page { $page } of { $pages }

status-draft = Unpublished
status-open = Open for comments
status-closed = Closed
status-in_review = In review
status-revised = Revised
status-adopted = Adopted
status-withdrawn = Withdrawn

kind-concept = Concept
kind-law = Law
kind-code = Code
kind-decree = Decree
kind-order = Order
kind-rules = Rules

draft-meta = About this draft
draft-kind = Kind
draft-authority = Developing authority
draft-status = Status
draft-version = Version
draft-published = Published
draft-summary = Summary
draft-toc = Contents
draft-text = Text of the draft
draft-versions = Version history
draft-version-n = Version { $number }
draft-version-current = current
draft-version-viewing = You are reading version { $number }.
draft-version-latest = Read the latest version
draft-history = Status history
draft-permalink = Permalink
draft-permalink-to = Permalink to { $name }
draft-empty = This version has no text.
draft-transition = { $to }
provision-in = In { $name }
provision-back = Back to the full text
provision-of = Of { $title }
provision-paragraph = Paragraph

error-title-404 = Page not found
error-text-404 = We could not find that page. It may have moved, or the address may be mistyped.
error-title-422 = The request could not be processed
error-text-422 = Some of what was sent is not valid.
error-title-503 = Temporarily unavailable
error-text-503 = The service is briefly unavailable. Please try again in a moment; nothing you saved is lost.
error-title-500 = Something went wrong
error-text-500 = An unexpected error happened on our side. It has been logged. Please try again later.
error-title-other = Request refused
error-text-other = The request could not be completed.
error-home = Go to the home page
breadcrumb = You are here
error-title-400 = The request could not be read
error-text-400 = Something in what was sent could not be understood.
error-title-403 = Not allowed
error-text-403 = You do not have permission to do this.
error-title-429 = Too many attempts
error-text-429 = For your security we limit how often this can be tried.
nav-account = Account
nav-admin = Administration
nav-sign-in = Sign in
nav-sign-out = Sign out
nav-register = Create an account
footer-record = Public record
