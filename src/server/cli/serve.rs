//! `omnikpi serve`: the web server, until Ctrl-C or SIGTERM.

use anyhow::Context;

use crate::server::auth::users;
use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::{routes, state::AppState};

pub fn run(db: Db, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut leptos_options = leptos::config::get_configuration(None)
            .context("reading the Leptos site configuration")?
            .leptos_options;
        if leptos_options.output_name.is_empty() {
            leptos_options.output_name = "omnikpi".into();
        }
        leptos_options.site_addr = config.addr;
        if !users::admin_exists(&db.connect()?)? {
            eprintln!(
                "no administrator yet: dashboards stay closed until one exists. Create one with\n  \
                 omnikpi user add --email you@example.com --role admin"
            );
        }
        let state = AppState::new(db, config.clone(), leptos_options);
        tokio::spawn(routes::delete_expired_sessions(state.db.clone()));
        tokio::spawn(crate::server::alerts::evaluate_on_schedule(
            state.db.clone(),
        ));
        tokio::spawn(crate::server::digest::send_on_schedule(
            state.db.clone(),
            config.clone(),
        ));
        let app = routes::router(state);
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        println!("omnikpi is serving on http://{}", config.addr);
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server error")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
