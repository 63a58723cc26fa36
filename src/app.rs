//! Start-up: open the store, bootstrap, bind both listeners (port 0 in tests), run, shut down
//! (STYLE habit 12: the binary and the tests start the same way).

use crate::auth::bootstrap::{self, AdminBootstrap, BootstrapError};
use crate::auth::Context;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, Settings};
use crate::crypto::password::{HashError, PasswordHasher};
use crate::crypto::secretbox::{self, MasterKeySource};
use crate::http::{self, Listener};
use crate::storage::{Store, StoreError};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use actix_web::{App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{store}: {source}")]
    Store { store: String, source: StoreError },
    #[error("first-start setup failed: {0}")]
    Bootstrap(#[from] BootstrapError),
    #[error("the master key: {0}")]
    MasterKey(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("password hasher: {0}")]
    Hasher(#[from] HashError),
    #[error("cannot listen on {addr} ({which} listener): {source}")]
    Bind {
        which: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Workers of the intranet listener.
const INTRANET_WORKERS: usize = 2;

/// A built, bound, not yet running tessera.
pub struct Application {
    public_addr: SocketAddr,
    intranet_addr: SocketAddr,
    public: Server,
    intranet: Server,
    /// The plain listener that redirects to https (`tls.redirect_http_bind`), and its address.
    redirect: Option<(Server, SocketAddr)>,
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
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        // The config's values parsed once, before anything is created.
        let config = Settings::new(config)?;
        // The certificate next: a bad one stops the start before anything is created.
        let tls = match config.tls.enable_ssl {
            true => Some(crate::tls::server_config(&config.tls)?),
            false => None,
        };
        let dir = config.server.data_dir.clone();
        let store: Arc<dyn Store> =
            crate::storage::open(&config)
                .await
                .map_err(|source| StartError::Store {
                    store: crate::storage::described(&config),
                    source,
                })?;
        let now = clock.now();
        let (master, source) = secretbox::load_master_key(
            &dir,
            config
                .master_key
                .as_ref()
                .map(crate::crypto::SecretString::expose),
        )
        .map_err(|e| StartError::MasterKey(e.to_string()))?;
        if let MasterKeySource::Created(path) = source {
            log::warn!(
                "created the master key {}: keep a copy somewhere safe, apart from backups of the data (or move it to TESSERA_MASTER_KEY)",
                path.display()
            );
        }
        let keys =
            bootstrap::signing_keys(&*store, config.tokens.signing_alg, now, &master).await?;
        let hasher = PasswordHasher::new(&config.passwords)?;
        let admin = bootstrap::ensure_admin(&*store, &hasher, &config, now).await?;
        let token_uuid = bootstrap::preamble_token_uuid(&*store).await?;
        let (public_listener, public_addr) = bind("public", config.server.bind)?;
        let (intranet_listener, intranet_addr) = bind("intranet", config.server.admin_bind)?;
        let context = Data::new(Context::new(
            config, store, hasher, keys, clock, token_uuid, master,
        ));

        let public = serve(
            Listener::Public,
            (public_listener, public_addr),
            context.clone(),
            None,
            tls.as_ref(),
        )?;
        // Administration is light, but introspection also answers here: two workers, so that
        // one request that waits (a backup being written, a slow client) does not hold up the
        // rest. No store call blocks a worker: what scans or waits on the disk runs where the
        // store puts it.
        let intranet = serve(
            Listener::Intranet,
            (intranet_listener, intranet_addr),
            context.clone(),
            Some(INTRANET_WORKERS),
            tls.as_ref(),
        )?;
        let redirect = match (&tls, context.config().tls.redirect_http_bind) {
            (Some(_), Some(addr)) => Some(redirect_to_https(
                bind("redirect", addr)?,
                public_addr.port(),
                &context,
            )?),
            _ => None,
        };

        watch_config(context.clone());
        follow_signing_keys(context.clone());
        sweep_periodically(context.clone());
        Ok(Self {
            public_addr,
            intranet_addr,
            public,
            intranet,
            redirect,
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

    /// The address of the plain redirect listener, when there is one.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().map(|(_, addr)| *addr)
    }

    /// Serves until the listeners stop: SIGTERM or SIGINT stops them gracefully (SPEC §14).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let mut handles = vec![self.public.handle(), self.intranet.handle()];
        handles.extend(self.redirect.as_ref().map(|(server, _)| server.handle()));
        actix_rt::spawn(stop_on_signal(handles));
        let redirect = async {
            match self.redirect {
                Some((server, _)) => server.await,
                None => Ok(()),
            }
        };
        let (public, intranet, redirect) =
            futures_util::future::join3(self.public, self.intranet, redirect).await;
        public.and(intranet).and(redirect)
    }
}

/// Waits for SIGTERM or SIGINT (Ctrl-C), then stops every listener at once, gracefully: none
/// accepts a connection any more, and each lets the requests in flight run to their real
/// answers for up to [`SHUTDOWN_GRACE_SECONDS`] (SPEC §14). The listeners' own signal handling
/// is off: with it, the first listener to fall idle would stop the whole runtime, and with it
/// the other listeners' requests in flight.
async fn stop_on_signal(servers: Vec<actix_web::dev::ServerHandle>) {
    let name = wait_for_stop_signal().await;
    log::info!(
        "{name}: no new connections; finishing the requests in flight (up to \
         {SHUTDOWN_GRACE_SECONDS} s)"
    );
    futures_util::future::join_all(servers.iter().map(|s| s.stop(true))).await;
}

#[cfg(unix)]
async fn wait_for_stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(e) => {
            log::warn!("cannot listen for SIGTERM ({e}); stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// How often ended sessions, expired tokens and stale revocation markers are swept, and how
/// long a revoked session is kept first (a replay of its tokens answers 401 either way).
/// Every two minutes, so that each sweep is small: its removals pass through sled's memory.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(120);
const KEEP_REVOKED: time::Duration = time::Duration::hours(1);

/// Keeps the store from growing with every session it ever served (issue 7).
fn sweep_periodically(ctx: Data<Context>) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.tick().await; // the first tick is immediate; the start is busy enough
        loop {
            tick.tick().await;
            match ctx.store.sweep(ctx.now(), KEEP_REVOKED).await {
                Ok(swept) if swept != Default::default() => log::info!("swept {swept:?}"),
                Ok(_) => {}
                Err(e) => log::warn!("sweeping the store failed: {e}"),
            }
        }
    });
}

/// Reads the signing keys again whenever another node sharing the store may have rotated
/// them, so this node signs with the new key and verifies its tokens (SPEC §11).
fn follow_signing_keys(ctx: Data<Context>) {
    actix_rt::spawn(async move {
        loop {
            ctx.store.changed(crate::storage::Topic::SigningKeys).await;
            match crate::auth::signing::reload(&ctx).await {
                Ok(true) => log::info!("another node changed the signing keys: now in force here"),
                Ok(false) => {}
                Err(e) => {
                    log::warn!("reading the signing keys again failed: {e}");
                    // Not in a tight loop while the store is down.
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    });
}

/// How long SIGTERM (or Ctrl-C) lets the requests in flight run to their real answers once
/// the listeners stop accepting (SPEC §14); whatever is still running then is cut off.
const SHUTDOWN_GRACE_SECONDS: u64 = 30;

/// One listener: its routes, the shared middleware, TLS when configured.
fn serve(
    kind: Listener,
    (listener, addr): (TcpListener, SocketAddr),
    ctx: Data<Context>,
    workers: Option<usize>,
    tls: Option<&rustls::ServerConfig>,
) -> Result<Server, StartError> {
    let which = match kind {
        Listener::Intranet => "intranet",
        _ => "public",
    };
    let routes: fn(&mut actix_web::web::ServiceConfig) = match kind {
        Listener::Intranet => http::intranet,
        _ => http::public,
    };
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(ctx.clone())
            .app_data(Data::new(ctx.cors.clone()))
            .app_data(Data::new(kind))
            // The last wrap is outermost: request ids, headers and the access line cover CORS
            // preflight answers too.
            .wrap(from_fn(http::cors::cors))
            .wrap(from_fn(http::middleware::request_context))
            .configure(routes)
    })
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS);
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let err = |source| StartError::Bind {
        which,
        addr,
        source,
    };
    let server = match tls {
        Some(config) => server
            .listen_rustls_0_23(listener, config.clone())
            .map_err(err)?,
        None => server.listen(listener).map_err(err)?,
    };
    Ok(server.run())
}

/// The plain listener of `tls.redirect_http_bind`: every request answers 308 to the same
/// path on https (308 keeps the method and body, unlike 301).
fn redirect_to_https(
    (listener, addr): (TcpListener, SocketAddr),
    https_port: u16,
    ctx: &Data<Context>,
) -> Result<(Server, SocketAddr), StartError> {
    let base = ctx.config().server.external_url_base.clone();
    let server = HttpServer::new(move || {
        let base = base.clone();
        App::new().default_service(actix_web::web::to(move |req: actix_web::HttpRequest| {
            let base = base.clone();
            async move {
                let path = req
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                let location = if base.starts_with("https://") {
                    format!("{base}{path}")
                } else {
                    let host = req.connection_info().host().to_string();
                    let name = host
                        .rsplit_once(':')
                        .map_or(host.as_str(), |(h, _)| h)
                        .to_string();
                    format!("https://{name}:{https_port}{path}")
                };
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header((actix_web::http::header::LOCATION, location))
                    .finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
    .listen(listener)
    .map_err(|source| StartError::Bind {
        which: "redirect",
        addr,
        source,
    })?
    .run();
    Ok((server, addr))
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
