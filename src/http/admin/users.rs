//! `/api/v1/users`: the directory (SPEC §4).

use super::{double_option, rfc3339};
use crate::auth::users::{self, UserPatch};
use crate::auth::Context;
use crate::crypto::SecretString;
use crate::domain::{Email, NewUser, Role, User, UserId};
use crate::http::error::ApiError;
use crate::http::extract::{AdminCaller, WithBody};
use actix_web::web::{Data, Path, Query};
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn user_json(u: &User) -> Value {
    json!({
        "userid": u.userid.as_str(),
        "email": u.email.as_ref().map(Email::as_str),
        "firstname": u.firstname,
        "lastname": u.lastname,
        "roles": u.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
        "provider": u.provider,
        "domain": u.domain,
        "disabled": u.disabled,
        "created_at": rfc3339(u.created_at),
        "updated_at": rfc3339(u.updated_at),
    })
}

fn userid(raw: &str) -> Result<UserId, ApiError> {
    // A path that cannot be a userid names no user.
    UserId::parse(raw).map_err(|_| ApiError::NotFound)
}

fn roles(raw: Vec<String>) -> Result<Vec<Role>, ApiError> {
    let mut roles = raw
        .iter()
        .map(|r| Role::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    roles.dedup();
    Ok(roles)
}

fn email(raw: Option<String>) -> Result<Option<Email>, ApiError> {
    Ok(raw
        .filter(|e| !e.is_empty())
        .map(|e| Email::parse(&e))
        .transpose()?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    userid: String,
    password: SecretString,
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    provider: Option<String>,
    domain: Option<String>,
}

impl TryFrom<CreateUser> for NewUser {
    type Error = ApiError;
    fn try_from(c: CreateUser) -> Result<Self, ApiError> {
        Ok(NewUser {
            userid: UserId::parse(&c.userid)?,
            password: c.password.into_inner(),
            email: email(c.email)?,
            firstname: NewUser::text_field("firstname", c.firstname)?,
            lastname: NewUser::text_field("lastname", c.lastname)?,
            roles: roles(c.roles)?,
            provider: NewUser::text_field("provider", c.provider)?,
            domain: NewUser::text_field("domain", c.domain)?,
        })
    }
}

/// `POST /api/v1/users`.
pub async fn create(
    ctx: Data<Context>,
    WithBody(_, body): WithBody<AdminCaller, CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let user = users::create_user(&ctx, NewUser::try_from(body)?).await?;
    Ok(HttpResponse::Created().json(user_json(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<usize>,
    after: Option<String>,
}

/// `GET /api/v1/users?limit=&after=`.
pub async fn list(
    _: AdminCaller,
    ctx: Data<Context>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // Parsed here, after the caller is known, not by an extractor racing the caller's.
    let query = Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let after = query
        .after
        .as_deref()
        .map(UserId::parse)
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("after: {e}")))?;
    let (page, next) = users::list_users(&ctx, after.as_ref(), limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "users": page.iter().map(user_json).collect::<Vec<_>>(),
        "next": next.as_ref().map(UserId::as_str),
    })))
}

/// `GET /api/v1/users/{userid}`.
pub async fn get(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = users::get_user(&ctx, &userid(&path)?).await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    #[serde(default, deserialize_with = "double_option")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    firstname: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    lastname: Option<Option<String>>,
    roles: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    provider: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    domain: Option<Option<String>>,
    disabled: Option<bool>,
}

/// `PATCH /api/v1/users/{userid}`.
pub async fn patch(
    ctx: Data<Context>,
    path: Path<String>,
    WithBody(_, body): WithBody<AdminCaller, PatchUser>,
) -> Result<HttpResponse, ApiError> {
    let patch = UserPatch {
        email: body.email.map(email).transpose()?,
        firstname: body.firstname,
        lastname: body.lastname,
        roles: body.roles.map(roles).transpose()?,
        provider: body.provider,
        domain: body.domain,
        disabled: body.disabled,
    };
    let user = users::update_user(&ctx, &userid(&path)?, patch).await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    password: SecretString,
}

/// `PUT /api/v1/users/{userid}/password`.
pub async fn set_password(
    ctx: Data<Context>,
    path: Path<String>,
    WithBody(_, body): WithBody<AdminCaller, SetPassword>,
) -> Result<HttpResponse, ApiError> {
    users::set_password(&ctx, &userid(&path)?, body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/v1/users/{userid}`.
pub async fn delete(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    users::delete_user(&ctx, &userid(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
