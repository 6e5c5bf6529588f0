settings-title = Your account
settings-details = Your details
settings-name = Name shown with your comments
settings-email = Email address
settings-email-change-link = Change
settings-respondent = You are responding as
settings-member-since = Member since
settings-profile = Name and role
settings-profile-submit = Save changes
settings-profile-saved = Your details were saved.
settings-security = Sign-in and privacy
settings-back = Back to your account

settings-current-password = Current password
settings-current-password-hint = To protect your account we ask for your password before changing how you sign in.
settings-current-password-missing = Enter your current password
settings-current-password-wrong = The current password is not right

settings-email-title = Change your email address
settings-email-current = Your current address is { $email }.
settings-email-lead = We will send a confirmation link to the new address. Your address changes only when you follow that link; until then you keep signing in with the current one, and we tell the current address about the request.
settings-email-new = New email address
settings-email-submit = Send the confirmation link
settings-email-same = This is already your email address
settings-email-sent = If the new address can be used, we have sent a confirmation link to it. Your address changes when you follow the link, which works for 24 hours.
settings-email-confirm-title = Confirm your new email address
settings-email-confirm-lead = Press the button to use { $email } for your account from now on.
settings-email-confirm-submit = Use this address
settings-email-changed = Your email address is now { $email }.
settings-email-link-unknown = This email change link is not valid. Check that you copied the whole link.
settings-email-link-used = This email change link has already been used.
settings-email-link-expired = This email change link has expired. Ask for a new one.
settings-email-link-taken = This address can no longer be used for your account. Nothing was changed.

settings-password-title = Change your password
settings-password-lead = Changing your password signs you out on all your other devices. We send a notice to your email address.
settings-password-new = New password
settings-password-submit = Change password
settings-password-same = The new password must be different from the current one
settings-password-forgot = Forgot your current password? Reset it by email
settings-password-changed = Your password was changed. Your other devices have been signed out.

settings-sessions-title = Where you are signed in
settings-sessions-lead = These devices and browsers are signed in to your account. If you do not recognise one, sign it out and change your password.
settings-sessions-device = Device
settings-sessions-started = Signed in
settings-sessions-last-seen = Last active
settings-sessions-actions = Actions
settings-sessions-this-device = This device
settings-sessions-revoke = Sign out
settings-sessions-revoke-label = Sign out { $device }
settings-sessions-revoke-others = Sign out everywhere else
settings-session-revoked = That device has been signed out.
settings-sessions-others-revoked = All your other devices have been signed out.
settings-device = { $browser } on { $os }
settings-device-unknown = Unknown browser
settings-device-unknown-on = A browser on { $os }

settings-delete-title = Delete your account
settings-delete-lead = Deleting your account cannot be undone. This is what happens:
settings-delete-erased = Your email address, name and password are erased, and you are signed out on every device.
settings-delete-kept = Comments you have published stay public, as part of the record of the consultation, but are shown as by "former participant". Your respondent type is kept for the statistics of the discussions.
settings-delete-roles = Your working-group memberships and organization representations end.
settings-delete-final = You can register again later with the same email address, but it will be a new account.
settings-delete-confirm = I understand that my account will be deleted and that this cannot be undone
settings-delete-confirm-missing = Tick the box to confirm that you want to delete your account
settings-delete-submit = Delete my account
settings-delete-cancel = Keep my account and go back
settings-deleted = Your account was deleted.

settings-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
settings-hours = { $count ->
    [one] 1 hour
   *[other] { $count } hours
}
settings-days = { $count ->
    [one] 1 day
   *[other] { $count } days
}

privacy-title = Privacy
privacy-lead = Talqy keeps as little about you as it needs to run public consultations. This page says what is stored, what is public and how to delete your account.
privacy-stored-title = What we store
privacy-stored-email = Your email address: to sign you in and to send you the notices you ask for (confirmation links, answers to your comments). It is never shown to anyone.
privacy-stored-public = Your display name and respondent type (citizen, expert, business…): they are shown with your comments and counted in the discussion reports.
privacy-stored-password = Your password, only as a one-way hash: nobody, including us, can read it.
privacy-stored-sessions = Your sessions: when you signed in, when you were last active and your browser's name, so that you can see where you are signed in and sign devices out.
privacy-stored-logs = Server logs of requests, kept for security and troubleshooting. They never contain passwords, sign-in links or other tokens.
privacy-sessions-title = How long you stay signed in
privacy-sessions-length = You are signed out after { $idle } without activity, and in any case { $absolute } after you signed in.
privacy-sessions-manage = Your account page lists where you are signed in; you can sign out any device from there.
privacy-delete-title = Deleting your account
privacy-delete-how = You can delete your account at any time from your account page, with your password. Your email address, name and password are erased at once and all your sessions end.
privacy-delete-comments = Comments you have published stay public after you delete your account, because they are part of the record of the consultation. They are then attributed to "former participant".
