//! Rendered view pages, kept for the session that asked, at one data version and within one
//! minute of the clock.
//!
//! A warm view costs little to compute (its numbers come from the result cache, see
//! `Db::cached`) but milliseconds to render: hundreds of numbers and dates formatted, the HTML
//! and its islands' data written. Under fifty clients that render was most of the CPU per
//! answer (docs/benchmarks.md, "CPU per warm company page"). The HTML of a page depends on its
//! address, on the session (who asks, their language, theme and anti-forgery token), on the
//! data and on the date, and on nothing else; so it is rendered once and answered again while
//! all of those stay the same.
//!
//! The cache sits behind the gate (`routes::router`): every request is still authenticated
//! and authorised before a kept page is answered. What is kept, and for how long:
//! - only `GET` pages of the views (`Access::View`): not admin pages, whose flash messages
//!   show a new secret once, nor the sign-in and account pages;
//! - only for a signed-in session, under a key of the address, the cookies, `Accept-Language`,
//!   the user and the anti-forgery token;
//! - while the data version is the one the page was rendered at (every write moves it), or
//!   for a request that arrived before the render and waited for it (`PageCache::answer`);
//! - within the UTC minute it was rendered in: the date of any time zone changes only on a
//!   whole minute of UTC, so a kept page never shows yesterday's default period;
//! - only a `200` HTML answer that sets no cookie, of at most [`MAX_PAGE`] bytes.
//!
//! The gate draws a new nonce for each answer's inline scripts; a kept page is stored cut at
//! the nonce it was rendered with, and answered with the new one in its place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::RequestAuth;
use super::auth::gate::ScriptNonce;
use super::auth::policy::{self, Access, Kind};
use super::config::DEFAULT_PAGE_CACHE_MIB;
use super::state::AppState;

/// The largest page kept.
pub const MAX_PAGE: usize = 1 << 20;

/// How many locks the renders of missing pages are spread over (by key).
const STRIPES: usize = 32;

/// The pages kept, and the locks that make concurrent requests for one missing page wait for
/// a single render of it.
pub struct PageCache {
    /// The bytes of all kept pages together (`page_cache_mib`); past it, the pages of older
    /// versions or minutes go first, then all of them. 0: no page is kept.
    budget: usize,
    kept: Mutex<Kept>,
    fills: [tokio::sync::Mutex<()>; STRIPES],
    answered_kept: AtomicU64,
    rendered: AtomicU64,
}

/// What `/metrics` reports of the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answers of a kept page.
    pub kept: u64,
    /// Pages rendered for a key that may be kept (kept or not: too big, not a 200).
    pub rendered: u64,
    pub pages: usize,
    pub bytes: usize,
}

#[derive(Default)]
struct Kept {
    pages: HashMap<[u8; 32], Page>,
    bytes: usize,
}

struct Page {
    version: u64,
    minute: i64,
    headers: HeaderMap,
    /// The body cut at each place the render's nonce stood.
    pieces: Vec<Bytes>,
    len: usize,
}

impl Page {
    /// The page of a rendered `body`, cut at each place `nonce` stands; `None` when the body
    /// is not UTF-8 text.
    fn cut(
        body: Bytes,
        nonce: &str,
        version: u64,
        minute: i64,
        headers: HeaderMap,
    ) -> Option<Self> {
        let text = std::str::from_utf8(&body).ok()?;
        let mut pieces = Vec::new();
        let mut start = 0;
        for (at, _) in text.match_indices(nonce) {
            pieces.push(body.slice(start..at));
            start = at + nonce.len();
        }
        pieces.push(body.slice(start..));
        Some(Self {
            version,
            minute,
            headers,
            len: body.len(),
            pieces,
        })
    }
}

impl Default for PageCache {
    fn default() -> Self {
        Self::new(usize::try_from(DEFAULT_PAGE_CACHE_MIB).unwrap_or(0) << 20)
    }
}

impl PageCache {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            kept: Mutex::default(),
            fills: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
            answered_kept: AtomicU64::new(0),
            rendered: AtomicU64::new(0),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answers so far and the pages kept now.
    pub fn counts(&self) -> Counts {
        let kept = self.kept();
        Counts {
            kept: self.answered_kept.load(Ordering::Relaxed),
            rendered: self.rendered.load(Ordering::Relaxed),
            pages: kept.pages.len(),
            bytes: kept.bytes,
        }
    }

    /// The kept page under `key` rendered at data version `version` and UTC minute `minute`
    /// or later, with `nonce` in place.
    ///
    /// Versions and minutes only grow, so a request that arrived at `(version, minute)` and
    /// then waited for a render is answered by any render begun after it arrived: that page
    /// holds every write the request could have seen. Without this, under a batch a second
    /// the requests waiting for one page rendered it again one after the other, each finding
    /// the version moved (a 30-minute soak at 10M saw reads wait a minute).
    fn answer(&self, key: &[u8; 32], version: u64, minute: i64, nonce: &str) -> Option<Response> {
        let (headers, body) = {
            let kept = self.kept();
            let page = kept
                .pages
                .get(key)
                .filter(|p| p.version >= version && p.minute >= minute)?;
            let mut body = Vec::with_capacity(page.len + page.pieces.len() * nonce.len());
            for (i, piece) in page.pieces.iter().enumerate() {
                if i > 0 {
                    body.extend_from_slice(nonce.as_bytes());
                }
                body.extend_from_slice(piece);
            }
            (page.headers.clone(), body)
        };
        self.answered_kept.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = headers;
        Some(response)
    }

    fn keep(&self, key: [u8; 32], page: Page) {
        let mut kept = self.kept();
        if page.len > self.budget {
            return;
        }
        if kept.bytes + page.len > self.budget {
            let (version, minute) = (page.version, page.minute);
            kept.pages
                .retain(|_, p| p.version == version && p.minute == minute);
            if kept.bytes_of() + page.len > self.budget {
                kept.pages.clear();
            }
            kept.bytes = kept.bytes_of();
        }
        kept.bytes += page.len;
        if let Some(old) = kept.pages.insert(key, page) {
            kept.bytes -= old.len;
        }
    }
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("counts", &self.counts())
            .finish()
    }
}

impl Kept {
    fn bytes_of(&self) -> usize {
        self.pages.values().map(|p| p.len).sum()
    }
}

/// The UTC minute of the clock, as whole minutes since 1970.
fn minute_now() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

/// The key of a request whose page may be kept: a signed-in `GET` of a view page, allowed by
/// the gate (which put the auth and the nonce in its extensions).
fn key_of(req: &Request) -> Option<([u8; 32], String)> {
    if req.method() != Method::GET {
        return None;
    }
    let (rule, _) = policy::rule_for("GET", req.uri().path())?;
    if rule.kind != Kind::Page || !matches!(rule.access, Access::View(_)) {
        return None;
    }
    let auth = req.extensions().get::<RequestAuth>()?;
    let user = auth.user.as_ref()?;
    let nonce = req.extensions().get::<ScriptNonce>()?.0.clone();
    let header = |name: header::HeaderName| {
        req.headers()
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>()
            .join(&b"; "[..])
    };
    let mut hash = Sha256::new();
    for part in [
        req.uri().to_string().as_bytes(),
        &header(header::COOKIE),
        &header(header::ACCEPT_LANGUAGE),
        user.email.as_bytes(),
        auth.csrf.as_deref().unwrap_or_default().as_bytes(),
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    Some((hash.finalize().into(), nonce))
}

/// The middleware: answers a kept page, or renders it once (concurrent requests for the same
/// missing page wait for that render) and keeps it.
pub async fn serve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let pages = &state.pages;
    let Some((key, nonce)) = key_of(&req).filter(|_| pages.budget > 0) else {
        return next.run(req).await;
    };
    let now = || (state.db.data_version(), minute_now());
    let (arrived, arrived_minute) = now();
    if let Some(page) = pages.answer(&key, arrived, arrived_minute, &nonce) {
        return page;
    }
    let _fill = pages.fills[usize::from(key[0]) % STRIPES].lock().await;
    // A render that another request finished while this one waited.
    if let Some(page) = pages.answer(&key, arrived, arrived_minute, &nonce) {
        return page;
    }
    // The data version and minute are read before the render: a write or a new minute during
    // it leaves a page that only the requests that arrived before them are answered with.
    let (version, minute) = now();
    let response = next.run(req).await;
    pages.rendered.fetch_add(1, Ordering::Relaxed);
    let html = response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE)
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if body.len() <= MAX_PAGE {
        // The kept body's length is the answer's own (axum sets it).
        let mut headers = parts.headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        if let Some(page) = Page::cut(body.clone(), &nonce, version, minute, headers) {
            pages.keep(key, page);
        }
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(version: u64, minute: i64, body: &'static str, nonce: &str) -> Page {
        let body = Bytes::from_static(body.as_bytes());
        Page::cut(body, nonce, version, minute, HeaderMap::new()).expect("utf-8")
    }

    async fn text(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8(body.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn a_kept_page_is_answered_with_the_new_nonce_from_its_version_and_minute_on() {
        let cache = PageCache::default();
        let key = [7; 32];
        cache.keep(
            key,
            page(
                3,
                100,
                r#"<script nonce="aaaa">1</script><p nonce="aaaa">"#,
                "aaaa",
            ),
        );
        let answer = cache.answer(&key, 3, 100, "bbbbbb").expect("kept");
        assert_eq!(
            text(answer).await,
            r#"<script nonce="bbbbbb">1</script><p nonce="bbbbbb">"#
        );
        assert!(
            cache.answer(&key, 4, 100, "b").is_none(),
            "a write moved on"
        );
        assert!(cache.answer(&key, 3, 101, "b").is_none(), "a new minute");
        assert!(cache.answer(&[8; 32], 3, 100, "b").is_none(), "another key");
        assert!(
            cache.answer(&key, 2, 99, "b").is_some(),
            "a request that arrived before the render and waited for it"
        );
    }

    #[test]
    fn past_the_budget_the_pages_of_older_versions_go_first() {
        let cache = PageCache::new(3_000);
        let big: &'static str = Box::leak("x".repeat(1_000).into_boxed_str());
        cache.keep([1; 32], page(1, 5, big, "n"));
        cache.keep([2; 32], page(2, 5, big, "n"));
        cache.keep([3; 32], page(2, 5, big, "n"));
        assert_eq!(cache.counts().pages, 3);
        cache.keep([4; 32], page(2, 5, big, "n"));
        assert_eq!(cache.counts().pages, 3, "the page of version 1 went");
        assert!(cache.answer(&[1; 32], 1, 5, "n").is_none());
        cache.keep([5; 32], page(2, 5, big, "n"));
        let counts = cache.counts();
        assert_eq!(
            counts.pages, 1,
            "still over: everything went but the new page"
        );
        assert_eq!(counts.bytes, big.len());
    }
}
