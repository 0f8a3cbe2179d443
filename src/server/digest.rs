//! Digests (in progress).
pub async fn send_on_schedule(_db: super::db::Db, _config: super::config::Config) {}
