//! Live refresh: open dashboards follow the data without a reload.
//!
//! After hydration a page polls [`fetch_data_version`] every [`POLL_SECONDS`]; when the
//! version moves (data was written), [`use_data_version`]'s signal changes and the
//! page's resources, keyed on it as well as on the URL query, fetch their data again. The
//! view state lives in the URL, so nothing the user chose is lost. On the server and without
//! JavaScript the signal never changes: a reload shows new data as before.

use leptos::prelude::*;

use crate::error::AppError;

/// How often an open dashboard asks whether new data arrived.
pub const POLL_SECONDS: u64 = 5;

/// The version of the data: it moves after every write the server makes or answers (loads,
/// the events API, identity changes, targets, settings, ...), the same version the results
/// cache is keyed on (`Db::data_version`), so a page refreshes exactly when its cached
/// answers went stale.
#[server(endpoint = "data_version")]
pub async fn fetch_data_version() -> Result<i64, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::state::AppState;
    auth::require(policy::Access::SignedIn, None)?;
    let state = expect_context::<AppState>();
    Ok(i64::try_from(state.db.data_version()).unwrap_or(i64::MAX))
}

/// A counter that grows each time the data changes while the page is open (0 on the server
/// and at hydration, so server and browser render the same first view).
pub fn use_data_version() -> ReadSignal<u64> {
    let (generation, set_generation) = signal(0_u64);
    #[cfg(feature = "hydrate")]
    {
        use std::cell::Cell;
        use std::rc::Rc;
        use std::time::Duration;
        let seen: Rc<Cell<Option<i64>>> = Rc::new(Cell::new(None));
        let poll = move || {
            let seen = Rc::clone(&seen);
            leptos::task::spawn_local(async move {
                // A failed poll (server restarting, session ended) just waits for the next.
                let Ok(version) = fetch_data_version().await else {
                    return;
                };
                match seen.get() {
                    Some(before) if before != version => {
                        seen.set(Some(version));
                        set_generation.update(|g| *g += 1);
                    }
                    Some(_) => {}
                    None => seen.set(Some(version)),
                }
            });
        };
        Effect::new(move |_| {
            poll();
            let handle =
                set_interval_with_handle(poll.clone(), Duration::from_secs(POLL_SECONDS)).ok();
            on_cleanup(move || {
                if let Some(handle) = handle {
                    handle.clear();
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_generation;
    generation
}
