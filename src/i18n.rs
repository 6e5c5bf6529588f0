//! Interface text comes from Fluent files under `frontend/locales/<lang>/`, compiled in.
//! The reader's language is negotiated from `Accept-Language`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{Loader, static_loader};
use unic_langid::LanguageIdentifier;

static_loader! {
    static LOCALES = {
        locales: "./frontend/locales",
        fallback_language: "en",
        // Fluent would wrap every placeable in Unicode isolation marks; pages are plain text.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The translator for one request.
#[derive(Debug, Clone)]
pub struct I18n {
    lang: LanguageIdentifier,
}

impl Default for I18n {
    fn default() -> Self {
        I18n { lang: fallback() }
    }
}

fn fallback() -> LanguageIdentifier {
    "en".parse().expect("static language tag")
}

impl I18n {
    /// Picks the first supported language of an `Accept-Language` header (by quality).
    pub fn negotiate(accept_language: Option<&str>) -> I18n {
        let supported: Vec<LanguageIdentifier> = LOCALES.locales().cloned().collect();
        let mut wanted: Vec<(f32, LanguageIdentifier)> = accept_language
            .unwrap_or_default()
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, tag.parse::<LanguageIdentifier>().ok()?))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let lang = wanted
            .into_iter()
            .find_map(|(_, w)| supported.iter().find(|s| s.language == w.language).cloned())
            .unwrap_or_else(fallback);
        I18n { lang }
    }

    pub fn lang(&self) -> String {
        self.lang.to_string()
    }

    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.lang, key)
    }

    /// A message with one numeric argument (plural forms are chosen by Fluent).
    pub fn tn(&self, key: &str, name: &str, n: i64) -> String {
        let mut args: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        args.insert(Cow::Owned(name.to_string()), FluentValue::from(n));
        LOCALES.lookup_with_args(&self.lang, key, &args)
    }

    /// A message with several numeric arguments.
    pub fn t_nums(&self, key: &str, nums: &[(&str, i64)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = nums
            .iter()
            .map(|(name, n)| (Cow::Owned(name.to_string()), FluentValue::from(*n)))
            .collect();
        LOCALES.lookup_with_args(&self.lang, key, &args)
    }

    /// A message with several text arguments.
    pub fn t_strs(&self, key: &str, strs: &[(&str, &str)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = strs
            .iter()
            .map(|(name, v)| {
                (
                    Cow::Owned(name.to_string()),
                    FluentValue::from(v.to_string()),
                )
            })
            .collect();
        LOCALES.lookup_with_args(&self.lang, key, &args)
    }

    /// A message with one text argument.
    pub fn ts(&self, key: &str, name: &str, value: &str) -> String {
        let mut args: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        args.insert(
            Cow::Owned(name.to_string()),
            FluentValue::from(value.to_string()),
        );
        LOCALES.lookup_with_args(&self.lang, key, &args)
    }
}

impl FromRequest for I18n {
    type Error = actix_web::Error;
    type Future = Ready<Result<I18n, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(I18n::for_request(req)))
    }
}

impl I18n {
    pub fn for_request(req: &HttpRequest) -> I18n {
        I18n::negotiate(
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_languages_fall_back_to_english() {
        let i = I18n::negotiate(Some("xx-YY, zz;q=0.5"));
        assert_eq!(i.lang(), "en");
        assert_eq!(i.t("site-name"), "Talqy");
    }

    #[test]
    fn plurals_come_from_fluent() {
        let i = I18n::default();
        assert_eq!(i.tn("days-left", "count", 1), "1 day left");
        assert_eq!(i.tn("days-left", "count", 3), "3 days left");
    }
}
