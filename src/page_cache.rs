//! The render cache for anonymous readers. A draft that goes viral is read by tens of
//! thousands of people who are not signed in and all see the same page, so the page is
//! rendered once and its bytes are served from memory, with an `ETag` so browsers and
//! proxies can revalidate with a `304`.
//!
//! What is cached: a `GET` without a session cookie whose answer is a `200` HTML page marked
//! `Cache-Control: public` ([`crate::routes::page`] marks pages so only when nothing on them
//! is personal) and sets no cookie. The key is the path with its query and
//! the negotiated language.
//!
//! Freshness: every state-changing request (any method but `GET`, `HEAD` and `OPTIONS`)
//! that passes through this instance empties the cache when it completes, and so does the
//! periodic task when it closes a round, so readers of this instance see a change at once.
//! A change made by another instance or by the command line shows within the time to live
//! (`page_cache_seconds`), which is shorter than the `max-age` these pages already carry.
//! A render that started before the cache was emptied is handed to the readers that were
//! waiting for it but never stored.
//!
//! Concurrent readers of a page that is not cached wait for one render instead of each
//! rendering it (a `OnceCell` per key), so an expired page does not bring a stampede.

use std::collections::HashMap;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{Method, StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, HttpResponseBuilder};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// A page as it was rendered, ready to be served again.
#[derive(Debug)]
pub struct CachedPage {
    headers: Vec<(header::HeaderName, header::HeaderValue)>,
    body: Bytes,
    etag: String,
}

type Cell = Arc<OnceCell<Option<Arc<CachedPage>>>>;

struct Slot {
    born: Instant,
    cell: Cell,
    bytes: usize,
}

#[derive(Default)]
struct Slots {
    map: HashMap<String, Slot>,
    bytes: usize,
}

pub struct PageCache {
    ttl: Duration,
    budget: usize,
    slots: Mutex<Slots>,
}

impl PageCache {
    /// A cache keeping pages for `ttl` within `budget` bytes; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration, budget: usize) -> PageCache {
        PageCache {
            ttl,
            budget,
            slots: Mutex::new(Slots::default()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets every page: something readers can see has changed.
    pub fn invalidate(&self) {
        let mut slots = self.lock();
        slots.map.clear();
        slots.bytes = 0;
    }

    /// The number of pages held, for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.lock()
            .map
            .values()
            .filter(|s| s.cell.get().is_some_and(Option::is_some))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A page bigger than this is served but not kept.
    fn largest_page(&self) -> usize {
        (self.budget / 4).min(4 * 1024 * 1024)
    }

    /// The cell for `key`: the live one, or a new one replacing an expired page.
    fn cell(&self, key: &str) -> Cell {
        let mut slots = self.lock();
        if let Some(slot) = slots.map.get(key)
            && slot.born.elapsed() < self.ttl
        {
            return slot.cell.clone();
        }
        let cell: Cell = Arc::new(OnceCell::new());
        let fresh = Slot {
            born: Instant::now(),
            cell: cell.clone(),
            bytes: 0,
        };
        if let Some(old) = slots.map.insert(key.to_string(), fresh) {
            slots.bytes -= old.bytes;
        }
        cell
    }

    /// Accounts for a page stored in `cell`, evicting the oldest pages beyond the budget. A
    /// cell that is no longer in the map (emptied or replaced meanwhile) is left alone.
    fn stored(&self, key: &str, cell: &Cell, bytes: usize) {
        let mut slots = self.lock();
        match slots.map.get_mut(key) {
            Some(slot) if Arc::ptr_eq(&slot.cell, cell) => slot.bytes = bytes,
            _ => return,
        }
        slots.bytes += bytes;
        while slots.bytes > self.budget {
            let Some(oldest) = slots
                .map
                .iter()
                .filter(|(_, s)| s.bytes > 0)
                .min_by_key(|(_, s)| s.born)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = slots.map.remove(&oldest) {
                slots.bytes -= gone.bytes;
            }
        }
    }

    /// Drops the slot of a render that failed, so the next reader tries again at once.
    fn forget(&self, key: &str, cell: &Cell) {
        let mut slots = self.lock();
        if slots
            .map
            .get(key)
            .is_some_and(|slot| Arc::ptr_eq(&slot.cell, cell))
            && let Some(gone) = slots.map.remove(key)
        {
            slots.bytes -= gone.bytes;
        }
    }
}

/// The `ETag` of a body: a strong validator from its SHA-256.
fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// Whether an `If-None-Match` header names `etag` (weak comparison, as for `GET`).
fn names_tag(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == etag)
}

fn respond(page: &CachedPage, if_none_match: Option<&str>) -> HttpResponse {
    let not_modified = if_none_match.is_some_and(|v| names_tag(v, &page.etag));
    let mut res = HttpResponseBuilder::new(if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    for (name, value) in &page.headers {
        if not_modified && *name == header::CONTENT_TYPE {
            continue;
        }
        res.insert_header((name.clone(), value.clone()));
    }
    res.insert_header((header::ETAG, page.etag.clone()));
    if not_modified {
        res.finish()
    } else {
        res.body(page.body.clone())
    }
}

/// Whether a response may be kept for every anonymous reader.
fn shareable(res: &ServiceResponse<impl MessageBody>, largest: usize) -> bool {
    let headers = res.headers();
    let public = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("public"));
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let sized = matches!(res.response().body().size(), BodySize::Sized(n) if n as usize <= largest);
    res.status() == StatusCode::OK
        && public
        && html
        && sized
        && !headers.contains_key(header::SET_COOKIE)
}

/// The middleware; `session_cookie` names the cookie whose presence means the page may be
/// personal.
pub struct PageCacheLayer {
    cache: Arc<PageCache>,
    session_cookie: &'static str,
}

impl PageCacheLayer {
    pub fn new(cache: Arc<PageCache>, session_cookie: &'static str) -> PageCacheLayer {
        PageCacheLayer {
            cache,
            session_cookie,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for PageCacheLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = PageCacheService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(PageCacheService {
            service: Rc::new(service),
            cache: self.cache.clone(),
            session_cookie: self.session_cookie,
        }))
    }
}

pub struct PageCacheService<S> {
    service: Rc<S>,
    cache: Arc<PageCache>,
    session_cookie: &'static str,
}

type Answer = Result<ServiceResponse<BoxBody>, actix_web::Error>;

impl<S, B> Service<ServiceRequest> for PageCacheService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Answer>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let cache = self.cache.clone();
        let method = req.method().clone();
        if method != Method::GET {
            return Box::pin(async move {
                let res = service.call(req).await;
                if ![Method::HEAD, Method::OPTIONS].contains(&method) {
                    cache.invalidate();
                }
                res.map(ServiceResponse::map_into_boxed_body)
            });
        }
        if !cache.enabled() || req.cookie(self.session_cookie).is_some() {
            return Box::pin(async move {
                service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_boxed_body)
            });
        }
        Box::pin(cached_get(service, cache, req))
    }
}

async fn cached_get<S, B>(service: Rc<S>, cache: Arc<PageCache>, req: ServiceRequest) -> Answer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    let lang = crate::i18n::I18n::negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
    .lang();
    let key = format!(
        "{lang}\n{}",
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cell = cache.cell(&key);
    let mut waiting = Some(req);
    // Set only when this request rendered a page that can't be shared.
    let mut own: Option<Answer> = None;
    let mut renderer: Option<actix_web::HttpRequest> = None;
    let (waiting_ref, own_ref, renderer_ref) = (&mut waiting, &mut own, &mut renderer);
    let (service_ref, largest) = (&service, cache.largest_page());
    let page = cell
        .get_or_init(|| async move {
            let req = waiting_ref.take().expect("the request is taken once");
            match service_ref.call(req).await {
                Err(e) => {
                    *own_ref = Some(Err(e));
                    None
                }
                Ok(res) if !shareable(&res, largest) => {
                    *own_ref = Some(Ok(res.map_into_boxed_body()));
                    None
                }
                Ok(res) => {
                    let (http_req, res) = res.into_parts();
                    let (head, body) = res.into_parts();
                    match actix_web::body::to_bytes(body).await {
                        Ok(body) => {
                            *renderer_ref = Some(http_req);
                            Some(Arc::new(CachedPage {
                                headers: head
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| (k.clone(), v.clone()))
                                    .collect(),
                                etag: etag_of(&body),
                                body,
                            }))
                        }
                        Err(e) => {
                            let e: Box<dyn std::error::Error> = e.into();
                            *own_ref = Some(Err(actix_web::error::ErrorInternalServerError(
                                e.to_string(),
                            )));
                            None
                        }
                    }
                }
            }
        })
        .await
        .clone();
    match (page, own) {
        (Some(page), _) => {
            if renderer.is_some() {
                cache.stored(&key, &cell, page.body.len());
            }
            let http_req = match (renderer, waiting) {
                (Some(r), _) => r,
                (None, Some(req)) => req.request().clone(),
                (None, None) => unreachable!("either this request rendered or it waited"),
            };
            let res = respond(&page, if_none_match.as_deref());
            Ok(ServiceResponse::new(http_req, res))
        }
        (None, Some(answer)) => {
            let failed = match &answer {
                Ok(res) => res.status().is_server_error(),
                Err(_) => true,
            };
            if failed {
                cache.forget(&key, &cell);
            }
            answer
        }
        (None, None) => {
            // Another reader found this page can't be shared: render it for this one.
            let req = waiting.expect("a reader that did not render still holds its request");
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        let tag = "\"abc\"";
        assert!(names_tag("\"abc\"", tag));
        assert!(names_tag("\"x\", W/\"abc\"", tag));
        assert!(names_tag("*", tag));
        assert!(!names_tag("\"abd\"", tag));
    }

    #[test]
    fn the_oldest_pages_go_first_when_the_budget_is_spent() {
        let cache = PageCache::new(Duration::from_secs(60), 100);
        for key in ["a", "b", "c"] {
            let cell = cache.cell(key);
            cell.set(Some(Arc::new(CachedPage {
                headers: Vec::new(),
                body: Bytes::from(vec![0u8; 40]),
                etag: String::new(),
            })))
            .unwrap();
            cache.stored(key, &cell, 40);
        }
        let slots = cache.lock();
        assert_eq!(slots.bytes, 80);
        assert!(!slots.map.contains_key("a"), "the oldest page was evicted");
        assert!(slots.map.contains_key("b") && slots.map.contains_key("c"));
    }

    #[test]
    fn an_emptied_cache_does_not_take_a_render_that_started_before() {
        let cache = PageCache::new(Duration::from_secs(60), 1000);
        let cell = cache.cell("a");
        cache.invalidate();
        cache.stored("a", &cell, 10);
        assert_eq!(cache.lock().bytes, 0);
        assert!(cache.lock().map.is_empty());
    }
}
