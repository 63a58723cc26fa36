//! Start-up: open the store, bootstrap, bind both listeners (port 0 in tests), run, shut down
//! (STYLE habit 12: the binary and the tests start the same way).

use crate::auth::bootstrap::{self, AdminBootstrap, BootstrapError};
use crate::auth::Context;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::password::{HashError, PasswordHasher};
use crate::http::{self, Listener};
use crate::storage::sled::SledStore;
use crate::storage::{Store, StoreError};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use actix_web::{App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the data directory {dir}: {source}")]
    Store { dir: String, source: StoreError },
    #[error("first-start setup failed: {0}")]
    Bootstrap(#[from] BootstrapError),
    #[error("password hasher: {0}")]
    Hasher(#[from] HashError),
    #[error("cannot listen on {addr} ({which} listener): {source}")]
    Bind {
        which: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A built, bound, not yet running tessera.
pub struct Application {
    public_addr: SocketAddr,
    intranet_addr: SocketAddr,
    public: Server,
    intranet: Server,
    context: Data<Context>,
    admin: AdminBootstrap,
}

fn bind(which: &'static str, addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let err = |source| StartError::Bind {
        which,
        addr,
        source,
    };
    let listener = TcpListener::bind(addr).map_err(err)?;
    let local = listener.local_addr().map_err(err)?;
    Ok((listener, local))
}

impl Application {
    /// Opens the store in `config.server.data_dir`, bootstraps a first start, and binds both
    /// listeners. Must be called inside an actix system (the servers register with it).
    pub fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let dir = config.server.data_dir.clone();
        let store: Arc<dyn Store> =
            Arc::new(SledStore::open(&dir).map_err(|source| StartError::Store {
                dir: dir.display().to_string(),
                source,
            })?);
        let now = clock.now();
        let keys = bootstrap::signing_keys(&*store, config.tokens.signing_alg, now)?;
        let hasher = PasswordHasher::new(&config.passwords)?;
        let admin = bootstrap::ensure_admin(&*store, &hasher, &config, now)?;
        let token_uuid = bootstrap::preamble_token_uuid(&*store)?;
        let (public_listener, public_addr) = bind("public", config.server.bind)?;
        let (intranet_listener, intranet_addr) = bind("intranet", config.server.admin_bind)?;
        let context = Data::new(Context::new(config, store, hasher, keys, clock, token_uuid));

        let ctx = context.clone();
        let public = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .app_data(Data::new(Listener::Public))
                .wrap(from_fn(http::middleware::request_context))
                .configure(http::public)
        })
        .shutdown_timeout(5)
        .listen(public_listener)
        .map_err(|source| StartError::Bind {
            which: "public",
            addr: public_addr,
            source,
        })?
        .run();

        let ctx = context.clone();
        let intranet = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .app_data(Data::new(Listener::Intranet))
                .wrap(from_fn(http::middleware::request_context))
                .configure(http::intranet)
        })
        .workers(1)
        .shutdown_timeout(5)
        .listen(intranet_listener)
        .map_err(|source| StartError::Bind {
            which: "intranet",
            addr: intranet_addr,
            source,
        })?
        .run();

        watch_config(context.clone());
        Ok(Self {
            public_addr,
            intranet_addr,
            public,
            intranet,
            context,
            admin,
        })
    }

    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    pub fn intranet_addr(&self) -> SocketAddr {
        self.intranet_addr
    }

    /// What the first-start bootstrap did about `admin`.
    pub fn admin_bootstrap(&self) -> &AdminBootstrap {
        &self.admin
    }

    /// The shared context, for tests and tools running in the same process.
    pub fn context(&self) -> Data<Context> {
        self.context.clone()
    }

    /// Serves until both listeners stop (SIGINT/SIGTERM stop them gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (public, intranet) = futures_util::future::join(self.public, self.intranet).await;
        public.and(intranet)
    }
}

/// Applies a changed configuration file within about a second, and on SIGHUP (SPEC §2). The
/// file is polled rather than watched: one `stat` a second costs nothing and works on every
/// filesystem, including the bind mounts and ConfigMaps where inotify does not.
fn watch_config(ctx: Data<Context>) {
    let Some(path) = ctx.config().source.clone() else {
        return;
    };
    let stamp = |path: &std::path::Path| {
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let watched = ctx.clone();
    actix_rt::spawn(async move {
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            let now = stamp(&path);
            if now != last {
                last = now;
                // A missing file keeps the settings in force; a broken one is logged.
                if last.is_some() {
                    let _ = crate::auth::reload::reload(&watched);
                }
            }
        }
    });
    #[cfg(unix)]
    actix_rt::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            log::warn!("cannot listen for SIGHUP; reload by file change or the API");
            return;
        };
        while hangups.recv().await.is_some() {
            log::info!("SIGHUP: reloading the configuration");
            let _ = crate::auth::reload::reload(&ctx);
        }
    });
}
