//! Runs a store call to completion from any thread of a benchmark: the store's traits are
//! async, and sled runs its flushes on the runtime's blocking pool. Included by path.

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .max_blocking_threads(64)
                .build()
                .expect("runtime")
        })
        .handle()
        .block_on(f)
}
