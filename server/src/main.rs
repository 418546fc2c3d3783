//! The `db-transfer` command: `serve` one instance, run the two-instance `demo`, manage admins, or act as a
//! receiver from the command line (`tables`, `schema`, `pull`).

use std::io::BufRead;
use std::process::ExitCode;

use accounts::admins::create_admin;
use accounts::{Password, Username};
use clap::{Parser, Subcommand};
use server::cli;
use server::demo::{self, DemoArgs};
use server::{Instance, ServeConfig, ServerError};

#[derive(Debug, Parser)]
#[command(name = "db-transfer", version, about = "Copy database tables between running instances, peer to peer.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one instance (SQLite under ./data by default; --database-url postgres://… for PostgreSQL).
    Serve(ServeConfig),
    /// Run a demo pair on SQLite: a seeded sender and an empty receiver.
    Demo(DemoArgs),
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// List a sender's tables (uses a connection code).
    Tables(cli::SenderArgs),
    /// Show one table's schema on a sender (uses a connection code).
    Schema {
        #[command(flatten)]
        sender: cli::SenderArgs,
        #[command(flatten)]
        ddl: cli::DdlArgs,
        table: String,
    },
    /// Pull tables from a sender into a local database.
    Pull(cli::PullArgs),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin. The password comes from --password-stdin, else DBT_ADMIN_PASSWORD, else one is generated
    /// and printed.
    Create {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/db-transfer.sqlite")]
        database_url: String,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Tables(args) => return cli::exit(cli::tables(args).await),
        Command::Schema { sender, ddl, table } => return cli::exit(cli::schema(sender, ddl, table).await),
        Command::Pull(args) => return cli::exit(cli::pull(args).await),
        _ => {}
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), ServerError> {
    match cli.command {
        Command::Serve(config) => {
            let instance = Instance::start(&config).await?;
            println!("DB Transfer listening on {} ({})", instance.url(), store::redact(&config.database_url));
            tokio::select! {
                result = instance.wait() => result,
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
        Command::Demo(args) => {
            let demo = demo::start(&args).await?;
            println!();
            println!("DB Transfer demo is running (SQLite files in {}):", args.data_dir.display());
            println!("  sender   (seeded: users, posts, comments)  {}/admin/db-transfer", demo.sender.url());
            println!("  receiver (empty)                            {}/admin/db-transfer", demo.receiver.url());
            println!("  sign in to both as  {} / {}", demo::DEMO_ADMIN, demo.password);
            println!("Press Ctrl-C to stop.");
            tokio::signal::ctrl_c().await?;
            demo.sender.stop().await;
            demo.receiver.stop().await;
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { database_url, username, password_stdin } } => {
            let username = Username::parse(&username)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (Password::parse(line.trim_end_matches(['\r', '\n']))?, false)
            } else if let Ok(from_env) = std::env::var("DBT_ADMIN_PASSWORD") {
                (Password::parse(&from_env)?, false)
            } else {
                (Password::generate(), true)
            };
            let db = appdata::connect(&database_url).await?;
            let admin = create_admin(&db, &username, &password).await?;
            db.close().await;
            println!("created admin {:?}", admin.username);
            if generated {
                println!("password: {}", password.expose());
            }
            Ok(())
        }
        Command::Tables(_) | Command::Schema { .. } | Command::Pull(_) => unreachable!("client commands return early"),
    }
}
