use clap::Parser;

/// glibc gives every thread that allocates while another one does its own heap arena (up to
/// 8 per core) and keeps what is freed in each. Under 64 concurrent requests for a 517 KB
/// page that set the server's peak RSS: 219 MB with the default, 148 MB with two arenas on
/// the 2-core benchmark machine (mimalloc measured 809 MB). An operator's
/// `MALLOC_ARENA_MAX` wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn bound_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator settings; it runs before the server starts
        // its worker threads.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc_arenas() {}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    bound_malloc_arenas();
    let cli = talqy::cli::Cli::parse();
    match talqy::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming the setting or field: operators read this first.
            eprintln!(
                "error: {}",
                e.to_string().lines().next().unwrap_or_default()
            );
            std::process::ExitCode::FAILURE
        }
    }
}
