//! The service itself: statistics (SPEC §6), configuration reload (SPEC §2) and preamble
//! token minting (SPEC §5).

use crate::auth::{backup, preamble, reload, stats, Context};
use crate::domain::UserId;
use crate::http::error::ApiError;
use crate::http::extract::{AdminCaller, StatisticsCaller, WithBody};
use crate::http::oauth::no_store;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::json;

/// `GET /api/v1/statistics`.
pub async fn statistics(_: StatisticsCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let counts = stats::statistics(&ctx).await?;
    Ok(no_store(HttpResponse::Ok()).json(json!({
        "users": counts.users,
        "applications": counts.applications,
        "api_keys": counts.api_keys,
        "live_sessions": counts.live_sessions,
        "logins_last_hour": counts.last_hour.logins,
        "failed_logins_last_hour": counts.last_hour.failures,
    })))
}

/// `POST /api/v1/admin/reload`.
pub async fn reload(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    match reload::reload(&ctx) {
        Ok(done) => Ok(HttpResponse::Ok().json(json!({
            "status": "reloaded",
            "restart_required": done.restart_required,
        }))),
        Err(e) => Err(ApiError::InvalidConfig(e.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintPreamble {
    userid: String,
}

/// `POST /api/v1/tokens/preamble`.
pub async fn mint_preamble(
    ctx: Data<Context>,
    WithBody(_, body): WithBody<AdminCaller, MintPreamble>,
) -> Result<HttpResponse, ApiError> {
    let userid = UserId::parse(&body.userid)?;
    let (token, exp) = preamble::mint(&ctx, &userid).await?;
    Ok(no_store(HttpResponse::Ok()).json(json!({"token": token, "exp": exp})))
}

/// `GET /api/v1/admin/backup`: a consistent snapshot while the server runs (SPEC §10). The
/// snapshot is taken into a private scratch file in the data dir — mutations wait only while
/// it is written locally, never on the client's download — and streamed from there.
pub async fn backup(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let stamp = ctx.now().unix_timestamp();
    let file = backup::snapshot(&ctx).await?;
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 64 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((
                Ok::<_, actix_web::Error>(actix_web::web::Bytes::from(buf)),
                Some(file),
            )),
            Ok(Err(e)) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
            Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
        }
    });
    Ok(no_store(HttpResponse::Ok())
        .content_type("application/x-ndjson")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"tessera-backup-{stamp}.jsonl\""),
        ))
        .streaming(chunks))
}
