//! `scripts/bench`: ticketd measured against the real loopback Dovecot and
//! Postfix, printed as a table (and written as JSON). Scenarios:
//!
//! - **backlog**: a plain client's fetch rate of a full INBOX, then
//!   ticketd's full ingest (fetch, parse, classify, thread, durable commit,
//!   alerts queued) of the same INBOX;
//! - **latency**: mail sent by SMTP at a steady rate until its
//!   acknowledgement is in the customer's INBOX (p50, p99);
//! - **outbound**: queued alerts sent by ticketd against a plain SMTP
//!   client sending the same messages over one connection;
//! - **growth**: ingest rate with 1,000 and with 100,000 tickets stored,
//!   and the daemon's peak memory then;
//! - **fanout**: closing a ticket with 1,000 and with 10,000 recipients, per
//!   recipient (the loop guard's rate checks must stay O(1)).
//!
//! Run through `scripts/bench`, which starts the stack and passes
//! `--stack DIR/mailstack.env`.

mod corpus;
mod fanout;
mod scenarios;
mod smtp;
mod stack;
mod ticketd;

use clap::Parser;

use scenarios::Row;

/// Command line.
#[derive(Debug, Parser)]
struct Args {
    /// The stack's `mailstack.env`.
    #[arg(long, env = "TICKETD_MAILSTACK_ENV")]
    stack: String,
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',', default_values_t = ["backlog".to_string(), "latency".into(), "outbound".into(), "growth".into(), "fanout".into(), "ingest-only".into()])]
    only: Vec<String>,
    /// Backlog size.
    #[arg(long, default_value_t = 10_000)]
    backlog: usize,
    /// Latency probes.
    #[arg(long, default_value_t = 200)]
    probes: usize,
    /// Latency probes per second.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Alerts in the outbound scenario.
    #[arg(long, default_value_t = 2_000)]
    alerts: usize,
    /// Tickets stored in the large growth case.
    #[arg(long, default_value_t = 100_000)]
    stored: usize,
    /// Backlog ingested in each growth case.
    #[arg(long, default_value_t = 5_000)]
    growth_backlog: usize,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/report.json")]
    json: String,
    /// Set by `cargo bench`; without it the benchmark does not run.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    // `cargo test --all-targets` runs bench targets too, without `--bench`:
    // the benchmark only runs when asked for (scripts/bench, cargo bench).
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("the pipeline benchmark runs through scripts/bench (cargo bench); skipped");
        return Ok(());
    }
    let args = Args::parse();
    let stack = stack::Stack::from_env_file(&args.stack)?;
    let work = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut rows: Vec<Row> = Vec::new();
    for scenario in &args.only {
        eprintln!("== {scenario}");
        let result = runtime.block_on(async {
            match scenario.as_str() {
                "backlog" => scenarios::backlog(&stack, work.path(), args.backlog).await,
                "latency" => scenarios::latency(&stack, work.path(), args.probes, args.rate).await,
                "outbound" => scenarios::outbound(&stack, work.path(), args.alerts).await,
                "growth" => {
                    scenarios::growth(&stack, work.path(), args.stored, args.growth_backlog).await
                }
                "ingest-only" => scenarios::ingest_only(&stack, work.path(), args.backlog),
                "fanout" => fanout::fanout(&stack, work.path(), 1_000, 10_000),
                other => anyhow::bail!(
                    "unknown scenario {other}; expected backlog, latency, outbound, growth, fanout or ingest-only"
                ),
            }
        })?;
        print_rows(&result);
        rows.extend(result);
    }
    println!();
    print_rows(&rows);
    if let Some(dir) = std::path::Path::new(&args.json).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &args.json,
        serde_json::to_string_pretty(&serde_json::json!({ "rows": rows, "machine": machine() }))?,
    )?;
    eprintln!("JSON report: {}", args.json);
    Ok(())
}

fn print_rows(rows: &[Row]) {
    println!("| scenario | metric | value | target | met |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let met = match r.pass {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!(
            "| {} | {} | {:.2} {} | {} | {} |",
            r.scenario, r.metric, r.value, r.unit, r.target, met
        );
    }
}

fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    serde_json::json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    })
}
