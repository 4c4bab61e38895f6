//! Opening an IMAP session: TCP, then implicit TLS, STARTTLS or nothing
//! (loopback), then LOGIN or AUTHENTICATE PLAIN. Every network step runs
//! under the mailbox's timeout, and every failure is an [`ImapFailure`]
//! that names the mailbox and says what to fix.

use async_imap::{Client, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::config::SmtpSecurity;
use crate::config::imap::{ImapAuth, ImapConfig};

/// Any stream an IMAP session can run over.
pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapStream for T {}

/// A logged-in session, whatever the transport security.
pub type ImapSession = Session<Box<dyn ImapStream>>;

/// What went wrong, with the fix, for one clear log line.
#[derive(Debug, thiserror::Error)]
pub enum ImapFailure {
    /// No TCP connection.
    #[error(
        "mailbox \"{mailbox}\": cannot reach {address}: {detail}; check host and port, and that the server is up"
    )]
    Unreachable {
        /// Mailbox name.
        mailbox: String,
        /// host:port.
        address: String,
        /// The error.
        detail: String,
    },
    /// TLS handshake or certificate problem.
    #[error(
        "mailbox \"{mailbox}\": TLS with {address} failed: {detail}; if the server uses a private CA, set ca_file to its certificate (PEM), else fix the server's certificate or the security setting"
    )]
    Tls {
        /// Mailbox name.
        mailbox: String,
        /// host:port.
        address: String,
        /// The error.
        detail: String,
    },
    /// The server refused the credentials.
    #[error(
        "mailbox \"{mailbox}\": login as \"{username}\" was rejected: {detail}; check username and password (or password_file)"
    )]
    Login {
        /// Mailbox name.
        mailbox: String,
        /// Login name.
        username: String,
        /// The server's answer.
        detail: String,
    },
    /// The watched folder does not exist or cannot be opened.
    #[error(
        "mailbox \"{mailbox}\": cannot open folder \"{folder}\": {detail}; check the folder setting (folder names are case-sensitive, except INBOX)"
    )]
    Folder {
        /// Mailbox name.
        mailbox: String,
        /// Folder.
        folder: String,
        /// The server's answer.
        detail: String,
    },
    /// A step took longer than the timeout.
    #[error(
        "mailbox \"{mailbox}\": no answer to {step} within {secs} s; check the network, or raise timeout_secs"
    )]
    Timeout {
        /// Mailbox name.
        mailbox: String,
        /// What was being done.
        step: String,
        /// The timeout.
        secs: u64,
    },
    /// Anything else the server or connection did.
    #[error("mailbox \"{mailbox}\": {step} failed: {detail}")]
    Protocol {
        /// Mailbox name.
        mailbox: String,
        /// What was being done.
        step: String,
        /// The error.
        detail: String,
    },
}

/// Runs one network step under the mailbox's timeout; an error or a
/// timeout becomes an [`ImapFailure`] naming the step.
pub async fn step<T, E: std::fmt::Display>(
    config: &ImapConfig,
    what: &str,
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapFailure> {
    match tokio::time::timeout(config.timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ImapFailure::Protocol {
            mailbox: config.name.clone(),
            step: what.to_string(),
            detail: e.to_string(),
        }),
        Err(_) => Err(timeout(config, what)),
    }
}

fn timeout(config: &ImapConfig, what: &str) -> ImapFailure {
    ImapFailure::Timeout {
        mailbox: config.name.clone(),
        step: what.to_string(),
        secs: config.timeout.as_secs(),
    }
}

/// The TLS client settings: the usual web roots plus the configured CA.
pub fn tls_connector(config: &ImapConfig) -> anyhow::Result<TlsConnector> {
    crate::config::tls::connector(config.ca_pem.as_deref())
        .map_err(|e| anyhow::anyhow!("mailbox \"{}\": {e:#}", config.name))
}

/// Connects and logs in.
pub async fn connect(config: &ImapConfig, tls: &TlsConnector) -> Result<ImapSession, ImapFailure> {
    let tcp = open_tcp(config).await?;
    let client = match config.security {
        SmtpSecurity::Plain => greeted(config, Box::new(tcp) as Box<dyn ImapStream>).await?,
        SmtpSecurity::Tls => {
            let stream = wrap_tls(config, tls, tcp).await?;
            greeted(config, Box::new(stream) as Box<dyn ImapStream>).await?
        }
        SmtpSecurity::StartTls => {
            let mut plain = greeted(config, tcp).await?;
            step(
                config,
                "STARTTLS",
                plain.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let tcp = plain.into_inner();
            Client::new(Box::new(wrap_tls(config, tls, tcp).await?) as Box<dyn ImapStream>)
        }
    };
    log_in(config, client).await
}

fn address(config: &ImapConfig) -> String {
    format!("{}:{}", config.host, config.port)
}

async fn open_tcp(config: &ImapConfig) -> Result<TcpStream, ImapFailure> {
    let unreachable = |detail: String| ImapFailure::Unreachable {
        mailbox: config.name.clone(),
        address: address(config),
        detail,
    };
    let tcp = tokio::time::timeout(
        config.timeout,
        TcpStream::connect((config.host.as_str(), config.port)),
    )
    .await
    .map_err(|_| {
        unreachable(format!(
            "no connection within {} s",
            config.timeout.as_secs()
        ))
    })?
    .map_err(|e| unreachable(e.to_string()))?;
    tcp.set_nodelay(true).ok();
    Ok(tcp)
}

async fn wrap_tls(
    config: &ImapConfig,
    tls: &TlsConnector,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapFailure> {
    let tls_failure = |detail: String| ImapFailure::Tls {
        mailbox: config.name.clone(),
        address: address(config),
        detail,
    };
    let name = ServerName::try_from(config.host.clone()).map_err(|e| {
        tls_failure(format!(
            "\"{}\" is not a valid server name: {e}",
            config.host
        ))
    })?;
    tokio::time::timeout(config.timeout, tls.connect(name, tcp))
        .await
        .map_err(|_| timeout(config, "the TLS handshake"))?
        .map_err(|e| tls_failure(e.to_string()))
}

/// A client whose server greeting has been read.
async fn greeted<T: ImapStream>(config: &ImapConfig, stream: T) -> Result<Client<T>, ImapFailure> {
    let mut client = Client::new(stream);
    let greeting = step(config, "reading the greeting", client.read_response()).await?;
    if greeting.is_none() {
        return Err(ImapFailure::Protocol {
            mailbox: config.name.clone(),
            step: "reading the greeting".into(),
            detail: "the server closed the connection".into(),
        });
    }
    Ok(client)
}

/// AUTHENTICATE PLAIN's single response (RFC 4616).
struct PlainAuth<'a> {
    username: &'a str,
    password: &'a str,
}

impl async_imap::Authenticator for PlainAuth<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        format!("\0{}\0{}", self.username, self.password).into_bytes()
    }
}

async fn log_in(
    config: &ImapConfig,
    client: Client<Box<dyn ImapStream>>,
) -> Result<ImapSession, ImapFailure> {
    let password = config.password.expose();
    let attempt = match config.auth {
        ImapAuth::Login => {
            tokio::time::timeout(config.timeout, client.login(&config.username, password)).await
        }
        ImapAuth::Plain => {
            let auth = PlainAuth {
                username: &config.username,
                password,
            };
            tokio::time::timeout(config.timeout, client.authenticate("PLAIN", auth)).await
        }
    };
    match attempt {
        Err(_) => Err(timeout(config, "the login")),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((
            async_imap::error::Error::No(detail) | async_imap::error::Error::Bad(detail),
            _,
        ))) => Err(ImapFailure::Login {
            mailbox: config.name.clone(),
            username: config.username.clone(),
            detail,
        }),
        Ok(Err((e, _))) => Err(ImapFailure::Protocol {
            mailbox: config.name.clone(),
            step: "the login".into(),
            detail: e.to_string(),
        }),
    }
}
