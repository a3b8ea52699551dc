//! The `watchkeeper-demo` binary: runs the demo service until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use watchkeeper_demo::{
    DemoConfig, Mode, RECEIVER_PATH, parse_delay, parse_receiver_secret, spawn,
};

/// A pretend API to point Watchkeeper at: `GET /health` answers according to
/// a mode you switch with curl (see `GET /` once it runs).
#[derive(Debug, Parser)]
#[command(name = "watchkeeper-demo", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Region reported in the /health body.
    #[arg(long, default_value = "eu-west")]
    region: String,
    /// Starting mode: ok, degraded, fail, slow, hang, garbage or huge.
    #[arg(long, default_value = "ok")]
    mode: Mode,
    /// How long `slow` waits before answering, e.g. 2500ms or 2.5s.
    #[arg(long, default_value = "2500ms", value_parser = parse_delay)]
    slow_delay: Duration,
    /// The Standard Webhooks secret (whsec_…) notifications posted to
    /// /hooks/watchkeeper are verified with; without it they are taken
    /// unsigned.
    #[arg(long, env = "DEMO_RECEIVER_SECRET", value_parser = parse_receiver_secret, hide_env_values = true)]
    receiver_secret: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Logs go to stdout; colour only when that is a terminal, as in
        // watchkeeper's own logging, never in a pipe or a file.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let Cli {
        listen,
        region,
        mode,
        slow_delay,
        receiver_secret,
    } = Cli::parse();

    // Before saying it listens: whoever reads that line may signal at once.
    let mut signals = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!(error = %error, "cannot wait for signals");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(error = %error, listen = %listen, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let config = DemoConfig {
        region,
        initial_mode: mode,
        slow_delay,
        receiver_secret,
        print_received: true,
    };
    let demo = match spawn(listener, config).await {
        Ok(demo) => demo,
        Err(error) => {
            tracing::error!(error = %error, "cannot start the demo service");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        url = %demo.url("/health"),
        mode = %demo.mode(),
        receiver = %demo.url(RECEIVER_PATH),
        "watchkeeper-demo listening; GET / lists the endpoints"
    );

    let signal = signals.wait().await;
    tracing::info!(signal, "shutting down");
    demo.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGTERM and SIGINT, handled from the moment this is made (a signal
/// that arrives before [`ShutdownSignals::wait`] is polled is kept).
#[cfg(unix)]
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
struct ShutdownSignals;

#[cfg(not(unix))]
impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn wait(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "ctrl-c",
            Err(_) => "an error waiting for ctrl-c",
        }
    }
}
