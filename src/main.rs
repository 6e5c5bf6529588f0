use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
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
