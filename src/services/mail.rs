//! The messages Talqy sends, composed from the email templates (text and HTML parts).

use askama::Template;

use crate::email::EmailMessage;

#[derive(Template)]
#[template(path = "emails/message.txt")]
struct TextPart<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    action_label: &'a str,
    action_url: &'a str,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "emails/message.html")]
struct HtmlPart<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    action_label: &'a str,
    action_url: &'a str,
    footer: &'a str,
}

const FOOTER: &str = "You receive this message because of an action on Talqy, the public consultation platform. If it was not you, you can ignore it.";

pub fn compose(
    to: &str,
    subject: &str,
    greeting: &str,
    paragraphs: &[String],
    action_label: &str,
    action_url: &str,
) -> EmailMessage {
    let text = TextPart {
        greeting,
        paragraphs,
        action_label,
        action_url,
        footer: FOOTER,
    }
    .render()
    .unwrap_or_default();
    let html = HtmlPart {
        subject,
        greeting,
        paragraphs,
        action_label,
        action_url,
        footer: FOOTER,
    }
    .render()
    .unwrap_or_default();
    EmailMessage {
        to: to.to_string(),
        subject: subject.to_string(),
        text,
        html,
        headers: Vec::new(),
    }
}

pub fn verify_email(to: &str, name: &str, link: &str) -> EmailMessage {
    compose(
        to,
        "Confirm your email address for Talqy",
        &format!("Hello {name},"),
        &["Please confirm your email address to finish creating your Talqy account. The link works for 48 hours.".into()],
        "Confirm my email address",
        link,
    )
}

pub fn already_registered(to: &str, login: &str, forgot: &str) -> EmailMessage {
    compose(
        to,
        "You already have a Talqy account",
        "Hello,",
        &[
            "Someone tried to create a Talqy account with this email address, which already has one.".into(),
            format!("If it was you, sign in at {login}. If you forgot your password, you can reset it at {forgot}."),
        ],
        "Sign in",
        login,
    )
}

pub fn reset_password(to: &str, name: &str, link: &str) -> EmailMessage {
    compose(
        to,
        "Reset your Talqy password",
        &format!("Hello {name},"),
        &["We received a request to reset the password of your Talqy account. The link works for one hour and can be used once. Resetting signs you out on every device.".into()],
        "Choose a new password",
        link,
    )
}
