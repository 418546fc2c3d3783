//! Starting and stopping one running instance (database, first admin, router, listener).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accounts::admins::{count_admins, create_admin};
use accounts::{DbSessionStore, FailureLimiter, Password, Username};
use app::state::AppState;
use engine::Db;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::guard::GuardConfig;
use crate::router::build_router;
use crate::{ServeConfig, ServerError};

/// A running instance. Dropping it leaves it running; call [`Instance::stop`] or [`Instance::wait`].
pub struct Instance {
    pub addr: SocketAddr,
    pub db: Db,
    /// The sender's sessions (what the Send page drives).
    pub sender: Arc<sender::SessionRegistry>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    cleaner: JoinHandle<()>,
    workers: Option<jobs::Workers>,
}

impl Instance {
    /// Binds `config.addr` and starts serving.
    pub async fn start(config: &ServeConfig) -> Result<Instance, ServerError> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| ServerError::Bind { addr: config.addr.to_string(), source })?;
        Instance::start_on(config, listener).await
    }

    /// Starts serving on a listener the caller bound (port 0 in tests).
    pub async fn start_on(config: &ServeConfig, listener: TcpListener) -> Result<Instance, ServerError> {
        let liveness = sender::Liveness::new(
            Duration::from_secs(config.receiver_ping_secs),
            Duration::from_secs(config.receiver_timeout_secs),
        )
        .map_err(ServerError::Config)?;
        let db = appdata::connect(&config.database_url).await?;
        ensure_first_admin(&db, config).await?;
        let addr = listener.local_addr()?;

        let options = LeptosOptions::builder()
            .output_name("db-transfer")
            .site_root(config.site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .build();
        let window = Duration::from_secs(config.login_window_secs);
        let exclusions =
            protocol::Exclusions { names: config.exclude_tables.clone(), prefixes: config.exclude_prefixes.clone() };
        let jobs_config = jobs::JobsConfig {
            concurrency: usize::from(config.job_concurrency),
            heartbeat: Duration::from_secs(config.job_heartbeat_secs),
            retries: config.job_retries,
            site_url: config.public_url.clone().unwrap_or_else(|| format!("http://{addr}")),
            project: config.project.clone(),
            ..jobs::JobsConfig::default()
        };
        let queue = jobs::JobQueue::open(&db, &jobs_config).await.map_err(|e| ServerError::Config(e.to_string()))?;
        let state = AppState {
            db: db.clone(),
            tables: engine::Tables::new(db.clone(), exclusions),
            sender: Arc::new(sender::SessionRegistry::new(liveness)),
            login_limiter: Arc::new(FailureLimiter::new(config.login_max_failures, window)),
            code_limiter: Arc::new(FailureLimiter::new(config.code_max_failures, window)),
            site: app::state::SiteInfo { public_url: config.public_url.clone(), project: config.project.clone() },
            jobs: queue.clone(),
            imports: Default::default(),
        };
        let workers = jobs::Workers::start(
            queue,
            jobs::runner::RunnerContext { tables: state.tables.clone(), config: jobs_config },
        );
        let sender = state.sender.clone();
        let guard = GuardConfig {
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            public_origin: config.public_url.as_deref().map(origin_of),
            base_path: config.base_path.clone(),
        };
        let base = app::BasePath(config.base_path.clone());
        let live = crate::send_live::LiveConfig {
            state: state.clone(),
            public_url: config.public_url.clone(),
            base_path: config.base_path.clone(),
            grace: Duration::from_secs(config.send_grace_secs),
        };
        let router =
            build_router(state, options, guard, base, live, config.cookies_secure(), config.session_cookie.clone());

        let cleaner = tokio::spawn(DbSessionStore::new(db.clone()).delete_expired_every(Duration::from_secs(600)));
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        // No Nagle: the protocol trades small frames both ways (a page header, then its binary frame; credits), and
        // a small write must not wait for the peer's ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await
        });
        tracing::info!(%addr, engine = db.engine().as_str(), "instance listening");
        Ok(Instance { addr, db, sender, shutdown: Some(shutdown), server, cleaner, workers: Some(workers) })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs until the server stops on its own (an I/O error).
    pub async fn wait(mut self) -> Result<(), ServerError> {
        let result = (&mut self.server).await;
        self.cleaner.abort();
        result.map_err(|e| ServerError::Config(e.to_string()))?.map_err(ServerError::Io)
    }

    /// Stops accepting, lets requests in flight finish, closes the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
        self.cleaner.abort();
        if let Some(w) = self.workers.take() {
            w.stop().await;
        }
        self.db.close().await;
    }
}

/// Creates the first admin from the configuration when the database has none yet.
async fn ensure_first_admin(db: &Db, config: &ServeConfig) -> Result<(), ServerError> {
    let (Some(name), Some(password)) = (&config.admin_username, &config.admin_password) else {
        if count_admins(db).await? == 0 {
            tracing::warn!(
                "no admin exists yet: create one with `db-transfer admin create` or set DBT_ADMIN_USERNAME and DBT_ADMIN_PASSWORD"
            );
        }
        return Ok(());
    };
    if count_admins(db).await? == 0 {
        let admin = create_admin(db, &Username::parse(name)?, &Password::parse(password)?).await?;
        tracing::info!(admin = %admin.username, "created the first admin from the environment");
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL (what browsers send as Origin).
fn origin_of(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    match trimmed.find("://") {
        Some(i) => match trimmed[i + 3..].find('/') {
            Some(slash) => trimmed[..i + 3 + slash].to_owned(),
            None => trimmed.to_owned(),
        },
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin_of_drops_the_path() {
        assert_eq!(super::origin_of("https://a.example/prefix/"), "https://a.example");
        assert_eq!(super::origin_of("http://a.example:8080"), "http://a.example:8080");
    }
}
