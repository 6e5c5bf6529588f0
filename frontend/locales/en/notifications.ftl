## What a subscription follows

follow-all-drafts = All new drafts
follow-authority = New drafts by { $authority }
follow-kind = New drafts of this kind: { $kind }
follow-draft = Updates on “{ $title }”
follow-provision = New comments on { $provision } of “{ $title }”
follow-my-replies = Replies to my comments
follow-my-dispositions = The working group's decisions on my comments
follow-wg-queue = New comments to triage on “{ $title }”
follow-wg-campaigns = Campaigns detected on “{ $title }”
follow-removed-draft = a draft that is no longer available

## Messages about subscriptions

mail-greeting = Hello,
mail-manage-label = Manage your subscriptions
mail-unsubscribe-label = Unsubscribe
mail-copy-hint = If the button does not work, copy this address into your browser:
mail-reason = You receive this message because this address follows on Talqy: { $list }.
mail-manage-action = Manage my subscriptions
mail-confirm-subject = Confirm your Talqy subscription
mail-confirm-intro = Someone — hopefully you — asked Talqy to send email to this address about:
mail-confirm-ignore = Nothing will be sent until you confirm. If you did not ask for this, ignore this message.
mail-confirm-action = Confirm my subscription
mail-confirm-reason = You receive this message because this address was entered in a subscription form on Talqy.
mail-already-subject = You already follow this on Talqy
mail-already-intro = Someone asked Talqy to send email to this address about the following, which this address already follows:
mail-already-ignore = Nothing has changed. You can change how often you hear from Talqy, or stop, on your subscriptions page.
mail-already-reason = You receive this message because this address was entered in a subscription form on Talqy.

## Notifications

notify-until = Comments are accepted until { $date }.
notify-whole-draft = the draft as a whole
notify-published-subject = New draft for public consultation: { $title }
notify-published = { $authority } published “{ $title }” ({ $kind }) for public consultation.
notify-version-subject = Version { $number } of “{ $title }” is published
notify-version = Version { $number } of the draft is published.
notify-opened-subject = The consultation on “{ $title }” is open
notify-opened = The consultation is open: comments are accepted until { $date }.
notify-closing-subject = Three days left to comment on “{ $title }”
notify-closing = The consultation closes on { $date }.
notify-closed-subject = The consultation on “{ $title }” has closed
notify-closed = The consultation has closed; comments were accepted until { $date }. The working group now reviews them.
notify-report-subject = The discussion report on “{ $title }” is published
notify-report = The working group published its report on the discussion, with its answer to every comment.
notify-comment-subject = New comment on { $provision } of “{ $title }”
notify-comment = { $name } commented on { $provision }.
notify-reply-subject = { $name } replied to your comment on “{ $title }”
notify-reply = { $name } replied to your comment on { $provision }.
notify-queue-subject = New comment to triage on “{ $title }”
notify-queue = New comment from { $name } on { $provision }.
notify-decision-subject = The working group decided on your comment { $number }
notify-decision = Your comment { $number }: { $decision }.
notify-decision-accepted = accepted
notify-decision-partially_accepted = partially accepted
notify-decision-rejected = not accepted
notify-decision-noted = noted
notify-decision-duplicate = treated as a duplicate of another comment
notify-campaign-subject = Possible campaign detected on “{ $title }”
notify-campaign = Many very similar comments were detected.
notify-several-subject = { $count } updates from Talqy
digest-daily-subject = { $count ->
    [one] Your daily Talqy digest: 1 update
   *[other] Your daily Talqy digest: { $count } updates
}
digest-weekly-subject = { $count ->
    [one] Your weekly Talqy digest: 1 update
   *[other] Your weekly Talqy digest: { $count } updates
}
digest-intro = Here is what happened on Talqy from { $from } until { $until }.

## Pages

frequency-immediate = Immediately, one email per update
frequency-daily = Daily digest
frequency-weekly = Weekly digest
follow-continue = Continue
follow-home-heading = Follow new drafts by email
follow-home-lead = Hear about new drafts for public consultation. You can stop at any time with the link in every message.
follow-home-what = What to follow
follow-home-all = All new drafts
follow-home-authority = New drafts by one authority
follow-home-authority-name = Authority
follow-home-kind = New drafts of one kind
follow-home-kind-name = Kind of act
follow-draft-heading = Follow this draft
follow-draft-lead = Get an email when a new version is published, when the consultation opens, three days before it closes, when it closes and when the report is published.
follow-draft-button = Follow this draft by email
follow-provision-lead = Get an email when someone comments on this provision.
follow-provision-button = Follow comments on this provision
subscribe-title = Follow by email
subscribe-as-account = Emails will go to { $email }, the address of your account.
subscribe-email = Your email address
subscribe-email-hint = We send a message to confirm it. Nothing else is sent until you confirm.
subscribe-frequency = How often
subscribe-submit = Subscribe
subscribe-done = You now follow: { $what }.
subscribe-sent-title = Check your email
subscribe-sent = If the address can receive email, a message is on its way to it. Open it to confirm or manage the subscription.
subscribe-sent-spam = If nothing arrives within a few minutes, look in the spam folder.
confirm-title = Confirm your subscription
confirm-lead = Confirm that this address should receive email from Talqy about:
confirm-submit = Confirm
confirm-ignore = If you did not ask for this, close this page: nothing will be sent.
confirm-nothing-pending = There is nothing waiting for confirmation at this address.
confirm-invalid = This confirmation link is not valid. Subscribe again to get a new one.
confirm-done-title = Subscription confirmed
confirm-done = Thank you: your subscription is confirmed.
confirm-done-nothing = There was nothing left to confirm: your subscriptions are as they were.
unsubscribe-title = Unsubscribe
unsubscribe-lead = Press the button to stop receiving these emails:
unsubscribe-submit = Unsubscribe
unsubscribe-done = You are unsubscribed. You will receive no more of these emails.
unsubscribe-nothing = This address no longer receives these emails.
unsubscribe-invalid = This unsubscribe link is not valid. Use the link from the most recent message, or the page to manage your subscriptions.
manage-title = Your email subscriptions
manage-lead = Subscriptions of { $email }.
manage-current = What you follow
manage-none = This address follows nothing on Talqy.
manage-pending = waiting for confirmation
manage-pending-lead = Some subscriptions wait for your confirmation.
manage-frequency = How often
manage-save = Save
manage-remove = Remove
manage-remove-label = Remove: { $what }
manage-remove-all = Unsubscribe from everything
manage-frequency-done = Saved: { $frequency }.
manage-removed = The subscription was removed.
manage-removed-all = You are unsubscribed from everything.
account-subscriptions-title = Email subscriptions
account-subscriptions-link = Email subscriptions
account-subscriptions-add = Follow your comments and working groups
account-subscriptions-verify = Confirm your email address to subscribe with your account.
account-subscriptions-all-added = You follow everything available here.
account-subscriptions-follow = Follow
account-subscriptions-follow-label = Follow: { $what }
account-subscriptions-more = To follow drafts, authorities or provisions, use the “Follow” forms on the home page, on a draft's page or on a provision's page.
notify-campaign-detail = { $count } comments with nearly the same text, the first of them { $first }: “{ $sample }”
