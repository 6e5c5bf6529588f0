//! The `talqy` command line: serve (default), migrate, demo, and draft management.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};

use crate::config::{Config, Settings};
use crate::db::{Db, dialect};
use crate::domain::{DraftStatus, time};
use crate::services::drafts::{self, DraftInput};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "talqy",
    version,
    about = "Public consultation on draft normative acts"
)]
pub struct Cli {
    /// A TOML configuration file (default: ./talqy.toml when it exists).
    #[arg(long, global = true, env = "TALQY_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Print the applied migrations and the tables.
        #[arg(long)]
        status: bool,
    },
    /// Serve a demo consultation on a fresh SQLite database under the data folder.
    Demo,
    /// Manage drafts.
    #[command(subcommand)]
    Draft(DraftCommand),
    /// Make an account an administrator, creating it when needed. A new account gets a
    /// one-hour link to choose its password: no password is ever typed on a command line.
    CreateAdmin {
        email: String,
        /// The name shown for a new account (default: the part of the address before @).
        #[arg(long)]
        name: Option<String>,
    },
    /// The tamper-evident public record.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Build a deterministic large consultation for benchmarks (one open draft, its
    /// participants, organizations, comments, replies and decisions) and print what was
    /// made as JSON. Every seeded account's password is "bench passphrase for talqy".
    Seed {
        #[arg(long, default_value_t = 200)]
        provisions: usize,
        #[arg(long, default_value_t = 20_000)]
        comments: usize,
        #[arg(long, default_value_t = 2_000)]
        participants: usize,
        #[arg(long, default_value_t = 50)]
        organizations: usize,
        /// The random generator's seed: the same seed makes the same consultation.
        #[arg(long, default_value_t = 8)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Re-check the whole record chain against the stored data; names the first entry
    /// that does not match and exits non-zero.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum DraftCommand {
    /// Create an unpublished draft, optionally with its text.
    Create {
        #[arg(long)]
        title: String,
        /// concept, law, code, decree, order or rules.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        authority: String,
        #[arg(long, default_value = "")]
        summary: String,
        /// The text in Markdown.
        #[arg(long)]
        text: Option<PathBuf>,
    },
    /// Import a Markdown text: a new draft, or (with --draft) the new text of an unpublished
    /// one, keeping the keys of provisions that did not change.
    Import {
        file: PathBuf,
        #[arg(long)]
        draft: Option<i64>,
        /// Defaults to the text's title heading.
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, default_value = "concept")]
        kind: String,
        #[arg(long, default_value = "")]
        authority: String,
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// Change the metadata of an unpublished draft.
    Edit {
        id: i64,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        authority: Option<String>,
        #[arg(long)]
        summary: Option<String>,
    },
    /// Publish the draft's text and open a consultation round.
    Publish {
        id: i64,
        /// When the round closes (UTC): 2027-01-15 (end of that day) or RFC 3339.
        #[arg(long)]
        closes: String,
        /// When it opens (UTC); default now.
        #[arg(long)]
        opens: Option<String>,
    },
    /// Move a draft to another status (closed, in_review, revised, adopted, withdrawn).
    Transition {
        id: i64,
        status: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// List all drafts.
    List,
}

fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    )
}

pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let settings = Settings::load(cli.config.as_deref())?;
    Ok(settings.validate()?)
}

fn open_db(config: &Config) -> anyhow::Result<Db> {
    Db::connect(&config.database, config.pool_size).map_err(|e| anyhow!("database: {e}"))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = load_config(&cli)?;
    crate::telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Demo => demo(config).await,
        Command::Migrate { status } => {
            tokio::task::spawn_blocking(move || migrate(&config, status)).await?
        }
        Command::Draft(cmd) => tokio::task::spawn_blocking(move || draft(&config, cmd)).await?,
        Command::CreateAdmin { email, name } => {
            tokio::task::spawn_blocking(move || create_admin(&config, &email, name.as_deref()))
                .await?
        }
        Command::Seed {
            provisions,
            comments,
            participants,
            organizations,
            seed,
        } => {
            let opts = crate::services::seed::SeedOptions {
                provisions,
                comments,
                participants: participants.max(1),
                organizations: organizations.min(participants / 2),
                seed,
            };
            tokio::task::spawn_blocking(move || seed_command(&config, &opts)).await?
        }
        Command::Audit(AuditCommand::Verify) => {
            tokio::task::spawn_blocking(move || audit_verify(&config)).await?
        }
    }
}

fn seed_command(config: &Config, opts: &crate::services::seed::SeedOptions) -> anyhow::Result<()> {
    let db = open_db(config)?;
    let started = std::time::Instant::now();
    let seeded = crate::services::seed::seed(&mut *db.conn()?, opts)?;
    let mut out = serde_json::to_value(&seeded)?;
    out["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn audit_verify(config: &Config) -> anyhow::Result<()> {
    let db = open_db(config)?;
    match crate::services::chain::verify(&mut *db.conn()?)? {
        Ok(v) => {
            println!("ok: {} entries, head {}", v.entries, v.head);
            Ok(())
        }
        Err(mismatch) => {
            println!("{mismatch}");
            std::process::exit(1);
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let redacted = config.database.redacted();
    let bind = config.bind;
    let public = config.public_url("/");
    let app = Application::build(config)
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    tracing::info!(database = %redacted, %bind, %public, "Talqy is serving");
    app.run_until_stopped().await?;
    Ok(())
}

async fn demo(mut config: Config) -> anyhow::Result<()> {
    let path = config.data_dir.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow!("database: cannot remove old demo file: {e}")),
        }
    }
    config.database = crate::db::DatabaseUrl::Sqlite(path);
    let app = Application::build(config.clone())
        .await
        .map_err(|e| anyhow!("database: {e}"))?;
    let db = app.db().clone();
    let seed_config = config.clone();
    let id = db
        .run(move |conn| crate::demo::seed(conn, &seed_config))
        .await
        .context("seeding the demo")?;
    println!("Talqy demo is running at {}", config.public_url("/"));
    println!(
        "The demo consultation: {}",
        config.public_url(&format!("/drafts/{id}"))
    );
    println!(
        "Sign in as {} (administrator, chairs the working group) or {} — password: \"{}\"",
        crate::demo::ADMIN_EMAIL,
        crate::demo::CITIZEN_EMAIL,
        crate::demo::DEMO_PASSWORD
    );
    println!(
        "Emails are written to {}",
        config.data_dir.join("mail").display()
    );
    println!("Stop it with Ctrl+C.");
    app.run_until_stopped().await?;
    Ok(())
}

fn migrate(config: &Config, status: bool) -> anyhow::Result<()> {
    let db = open_db(config)?;
    let mut conn = db.conn()?;
    let applied = dialect::applied_migrations(&mut conn)?;
    println!(
        "{} migrations applied on {}",
        applied.len(),
        config.database.redacted()
    );
    if status {
        for m in applied {
            println!("  {m}");
        }
        let mut last = String::new();
        for (table, column) in dialect::table_columns(&mut conn)? {
            if table != last {
                println!("table {table}");
                last = table;
            }
            println!("  {column}");
        }
    }
    Ok(())
}

fn create_admin(config: &Config, email: &str, name: Option<&str>) -> anyhow::Result<()> {
    use crate::services::user_admin::{self, CreatedAdmin};
    let db = open_db(config)?;
    match user_admin::create_admin(&mut *db.conn()?, config, email, name)? {
        CreatedAdmin::Created { id, link } => {
            println!(
                "created administrator account {id} for {}",
                email.trim().to_lowercase()
            );
            println!("Choose its password within one hour at:");
            println!("{link}");
        }
        CreatedAdmin::Promoted {
            id,
            was_admin,
            blocked,
            link,
        } => {
            if was_admin {
                println!("account {id} is already an administrator");
            } else {
                println!("account {id} is now an administrator");
            }
            if let Some(reason) = blocked {
                println!(
                    "note: the account is blocked ({reason}); another administrator can lift the block at {}",
                    config.public_url(&format!("/admin/users/{id}"))
                );
            }
            if let Some(link) = link {
                println!("It has no password yet. Choose one within one hour at:");
                println!("{link}");
            }
        }
    }
    Ok(())
}

fn read_file(path: &PathBuf, max: usize) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow!("text: cannot read {}: {e}", path.display()))?;
    if meta.len() as usize > max {
        return Err(anyhow!(
            "text: {} is larger than {max} bytes",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| anyhow!("text: cannot read {}: {e}", path.display()))
}

fn draft(config: &Config, cmd: DraftCommand) -> anyhow::Result<()> {
    let max = config.max_import_bytes;
    // Input is checked before the database is touched, so bad input never half-applies.
    match cmd {
        DraftCommand::Create {
            title,
            kind,
            authority,
            summary,
            text,
        } => {
            let input = DraftInput {
                title,
                kind,
                authority,
                summary,
            };
            let parsed = match &text {
                Some(p) => Some(drafts::parse_text(&read_file(p, max)?, max)?),
                None => None,
            };
            input.validate().map_err(crate::error::AppError::from)?;
            let db = open_db(config)?;
            let id = drafts::create(&mut *db.conn()?, &input, parsed.as_ref(), &actor())?;
            println!("created draft {id}");
        }
        DraftCommand::Import {
            file,
            draft,
            title,
            kind,
            authority,
            summary,
        } => {
            let parsed = drafts::parse_text(&read_file(&file, max)?, max)?;
            let count = parsed.provisions.len();
            match draft {
                Some(id) => {
                    let db = open_db(config)?;
                    let out = drafts::import_text(&mut *db.conn()?, id, parsed)?;
                    println!(
                        "imported {} provisions into draft {id}: {} kept their keys, {} new, {} removed",
                        out.provisions, out.kept, out.added, out.removed
                    );
                }
                None => {
                    let input = DraftInput {
                        title,
                        kind,
                        authority,
                        summary,
                    };
                    let mut check = input.clone();
                    if check.title.trim().is_empty() {
                        check.title = parsed.title.clone().unwrap_or_default();
                    }
                    check.validate().map_err(crate::error::AppError::from)?;
                    let db = open_db(config)?;
                    let id = drafts::create(&mut *db.conn()?, &input, Some(&parsed), &actor())?;
                    println!("created draft {id} with {count} provisions");
                }
            }
        }
        DraftCommand::Edit {
            id,
            title,
            kind,
            authority,
            summary,
        } => {
            let db = open_db(config)?;
            let mut conn = db.conn()?;
            let current = drafts::list_all(&mut conn)?
                .into_iter()
                .find(|d| d.draft.id == id)
                .ok_or_else(|| anyhow!("draft: no draft {id}"))?;
            let input = DraftInput {
                title: title.unwrap_or(current.draft.title),
                kind: kind.unwrap_or(current.draft.kind),
                authority: authority.unwrap_or(current.draft.authority),
                summary: summary.unwrap_or(current.draft.summary),
            };
            drafts::edit(&mut conn, id, &input)?;
            println!("updated draft {id}");
        }
        DraftCommand::Publish { id, closes, opens } => {
            let closes_at = time::parse_datetime(&closes, true).ok_or_else(|| {
                anyhow!(
                    "closes_at: '{closes}' is not a date like 2027-01-15 or 2027-01-15T18:00:00Z"
                )
            })?;
            let opens_at = match opens {
                Some(o) => Some(time::parse_datetime(&o, false).ok_or_else(|| {
                    anyhow!("opens_at: '{o}' is not a date like 2027-01-01 or 2027-01-01T09:00:00Z")
                })?),
                None => None,
            };
            let db = open_db(config)?;
            let number = drafts::publish(&mut *db.conn()?, id, opens_at, closes_at, &actor())?;
            println!(
                "published draft {id} as version {number}; comments until {}",
                time::display(closes_at)
            );
            println!("{}", config.public_url(&format!("/drafts/{id}")));
        }
        DraftCommand::Transition { id, status, note } => {
            let to = DraftStatus::parse(&status).map_err(crate::error::AppError::from)?;
            let db = open_db(config)?;
            drafts::transition(&mut *db.conn()?, id, to, &actor(), note.as_deref())?;
            println!("draft {id} is now {to}");
        }
        DraftCommand::List => {
            let db = open_db(config)?;
            for d in drafts::list_all(&mut *db.conn()?)? {
                println!(
                    "{:>5}  {:<10} {:<8} {}",
                    d.draft.id,
                    d.status.as_str(),
                    d.kind.as_str(),
                    d.draft.title
                );
            }
        }
    }
    Ok(())
}
