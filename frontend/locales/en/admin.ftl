admin-title = Administration
admin-jobs-title = Outgoing email
admin-jobs-link = Outgoing email
admin-jobs-pending = { $count ->
    [0] No message is waiting to be sent.
    [one] 1 message is waiting to be sent.
   *[other] { $count } messages are waiting to be sent.
}
admin-jobs-parked = Messages that could not be sent
admin-jobs-none = None: every message was delivered or is still being tried.
admin-jobs-message = Recipient and subject
admin-jobs-attempts = Attempts
admin-jobs-error = Last error
admin-jobs-parked-at = Given up at
admin-jobs-retry = Try again
admin-jobs-retried = The message will be tried again.
