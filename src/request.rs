//! The id of the request being served (SPEC §9: the cause of an error goes to the log under
//! it). The HTTP middleware sets it for the request's task; the log format of the binary adds
//! it to every line written in its scope. A blocking job runs on another thread, outside that
//! task, so the use cases start theirs with [`spawn_blocking_with_id`] to keep it.

tokio::task_local! {
    /// The id of the request being served.
    pub static REQUEST_ID: String;
}

/// The log target of the access lines (SPEC §9), which begin with the request id.
pub const ACCESS_TARGET: &str = "tessera::access";

/// The id of the request this code serves, if it serves one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `tokio::task::spawn_blocking`, with the caller's request id in scope inside the job, so
/// that what the job logs (a failed flush, a rotated key) names the request it was for.
pub fn spawn_blocking_with_id<T, F>(job: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let id = current();
    tokio::task::spawn_blocking(move || match id {
        Some(id) => REQUEST_ID.sync_scope(id, job),
        None => job(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_blocking_job_sees_the_request_id_of_its_caller() {
        let seen = REQUEST_ID
            .scope("req-7".to_string(), async {
                spawn_blocking_with_id(current).await.expect("job ran")
            })
            .await;

        assert_eq!(seen.as_deref(), Some("req-7"));
    }

    #[actix_rt::test]
    async fn a_blocking_job_outside_a_request_has_no_id() {
        let seen = spawn_blocking_with_id(current).await.expect("job ran");

        assert_eq!(seen, None);
    }
}
