//! `tessera serve`: load the configuration, start both listeners, serve until stopped.

use crate::app::Application;
use crate::clock::SystemClock;
use crate::config::{self, ConfigSource};
use std::path::Path;
use std::sync::Arc;

pub fn run(config_path: &Path) -> anyhow::Result<()> {
    let (config, source) = config::load(config_path)?;
    super::apply_logging(&config);
    match &source {
        ConfigSource::File(p) => log::info!("configuration from {}", p.display()),
        ConfigSource::Defaults(p) => {
            log::info!(
                "no file at {}: using the default configuration",
                p.display()
            )
        }
    }
    let system = actix_rt::System::new();
    system.block_on(async move {
        let app = Application::build(config, Arc::new(SystemClock)).await?;
        let scheme = if app.context().config().tls.enable_ssl {
            "https"
        } else {
            "http"
        };
        log::info!(
            "tessera {} listening: public {scheme}://{} intranet {scheme}://{}",
            env!("CARGO_PKG_VERSION"),
            app.public_addr(),
            app.intranet_addr()
        );
        if let Some(redirect) = app.redirect_addr() {
            log::info!("redirecting plain http://{redirect} to https");
        }
        app.run_until_stopped().await?;
        log::info!("tessera stopped");
        Ok::<_, anyhow::Error>(())
    })
}
