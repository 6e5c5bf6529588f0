form-errors-title = There is a problem
form-required = (required)

register-title = Create an account
register-lead = With an account you can comment on drafts, reply and endorse comments, and follow the answers of the working group.
register-email = Email address
register-email-hint = We send a link to confirm it. It is never shown publicly.
register-name = Name shown with your comments
register-name-hint = Your full name or the name you are known by. It is public.
register-password = Password
register-password-hint = At least 8 characters. Long passphrases and password managers are welcome.
register-respondent = You are responding as
register-submit = Create account
register-have-account = Already registered? Sign in
register-privacy = How we use your data

respondent-citizen = A citizen
respondent-expert = An expert or professional
respondent-business = A business
respondent-ngo = An NGO or association
respondent-academia = Academia or research
respondent-public_authority = A public authority

sent-title = Check your email
sent-register = If the address can be used, we have sent a message to it. Follow the link in it to confirm your address and finish creating your account. The link works for 48 hours.
sent-reset = If an account uses that address, we have sent it a link to choose a new password. The link works for one hour.
sent-resend = If that address has an account waiting for confirmation, we have sent a new link.

verify-title = Confirm your email address
verify-lead = Press the button to confirm your address and activate your account.
verify-submit = Confirm my email address
verify-done = Your email address is confirmed. You can now sign in.
verify-resend-title = Need a new link?
verify-resend-submit = Send a new confirmation link

login-title = Sign in
login-email = Email address
login-password = Password
login-submit = Sign in
login-forgot = Forgot your password?
login-register = No account yet? Create one
login-failed = The email address or password is not right.
login-unverified = Please confirm your email address first: follow the link we sent you. You can ask for a new link below.
login-blocked = This account is blocked: { $reason }
login-blocked-until = This account is blocked until { $until }: { $reason }
signed-in = You are signed in.
signed-out = You are signed out.

forgot-title = Reset your password
forgot-lead = Enter the email address of your account and we will send you a link to choose a new password.
forgot-submit = Send the link

reset-title = Choose a new password
reset-password = New password
reset-submit = Save the new password
reset-done = Your password has been changed and you have been signed out everywhere. Sign in with the new password.
