//! The state every request handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::auth::AuthState;
use super::config::Config;
use super::db::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub auth: Arc<AuthState>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<super::ops::Metrics>,
    /// Rendered view pages (`page_cache`).
    pub pages: Arc<super::page_cache::PageCache>,
}

impl AppState {
    pub fn new(db: Db, config: Config, leptos_options: LeptosOptions) -> Self {
        let auth = Arc::new(AuthState::new(config.sessions.clone()));
        let pages = Arc::new(super::page_cache::PageCache::new(config.page_cache_bytes));
        Self {
            db,
            config: Arc::new(config),
            leptos_options,
            auth,
            metrics: Arc::default(),
            pages,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
