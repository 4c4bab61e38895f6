//! The SMTP client: one connection, kept open between sends and reopened
//! after any failure, with `TCP_NODELAY` set. lettre's pooled transport
//! leaves Nagle's algorithm on, and lettre writes a message's final
//! `.` line separately from its body, so every send waited for the
//! server's delayed ACK (about 40 ms): 20 messages a second on loopback.
//! lettre still speaks the protocol (EHLO, STARTTLS, AUTH, dot-stuffing,
//! reply codes); this module only owns the socket.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::send_result::SendResult;
use crate::config::{SmtpConfig, SmtpSecurity};

/// Slowest upload assumed when sizing a send's timeout (bytes per second).
const SLOWEST_UPLOAD: u64 = 256 * 1024;

/// A shareable SMTP client (the sender is its only user at a time).
#[derive(Clone)]
pub struct SmtpClient {
    config: Arc<SmtpConfig>,
    tls: TlsConnector,
    connection: Arc<Mutex<Option<AsyncSmtpConnection>>>,
}

impl SmtpClient {
    /// A client for `config`; connects on first use.
    pub fn new(config: &SmtpConfig) -> anyhow::Result<SmtpClient> {
        Ok(SmtpClient {
            config: Arc::new(config.clone()),
            tls: crate::config::tls::connector(config.ca_pem.as_deref())?,
            connection: Arc::new(Mutex::new(None)),
        })
    }

    /// Sends `bytes` to the envelope's recipients. Any failure closes the
    /// connection, so the next send starts on a fresh one.
    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> SendResult {
        let mut slot = self.connection.lock().await;
        let limit = self.config.timeout + Duration::from_secs(bytes.len() as u64 / SLOWEST_UPLOAD);
        let result = tokio::time::timeout(limit, async {
            let connection = match slot.as_mut() {
                Some(c) if !c.has_broken() => c,
                _ => slot.insert(self.connect().await?),
            };
            connection
                .send(envelope, bytes)
                .await
                .map_err(Failure::from)
        })
        .await;
        match result {
            Ok(Ok(_)) => SendResult::Sent,
            Ok(Err(failure)) => {
                drop_connection(&mut slot).await;
                if failure.permanent {
                    SendResult::Permanent(failure.message)
                } else {
                    SendResult::Retry(failure.message)
                }
            }
            Err(_) => {
                *slot = None;
                SendResult::Retry(format!("no answer within {} s", limit.as_secs()))
            }
        }
    }

    /// Connects and logs in once, for `serve --check`.
    pub async fn check(&self) -> Result<(), String> {
        let connected = tokio::time::timeout(self.config.timeout, self.connect()).await;
        match connected {
            Ok(Ok(mut connection)) => {
                let _ = connection.quit().await;
                Ok(())
            }
            Ok(Err(failure)) => Err(failure.message),
            Err(_) => Err(format!(
                "no answer within {} s",
                self.config.timeout.as_secs()
            )),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let config = &self.config;
        let tcp = TcpStream::connect((config.host.as_str(), config.port))
            .await
            .map_err(|e| {
                Failure::transient(format!(
                    "connecting to {}:{}: {e}",
                    config.host, config.port
                ))
            })?;
        tcp.set_nodelay(true).ok();
        let hello = ClientId::default();
        let mut connection = match config.security {
            SmtpSecurity::Tls => {
                let stream = self.wrap_tls(tcp).await?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello).await?
            }
            SmtpSecurity::Plain | SmtpSecurity::StartTls => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await?
            }
        };
        if config.security == SmtpSecurity::StartTls {
            connection
                .starttls(self.starttls_parameters()?, &hello)
                .await?;
        }
        if let Some((user, password)) = &config.credentials {
            let credentials = Credentials::new(user.clone(), password.clone());
            connection.auth(DEFAULT_MECHANISMS, &credentials).await?;
        }
        Ok(connection)
    }

    async fn wrap_tls(&self, tcp: TcpStream) -> Result<TlsTcp, Failure> {
        let name = ServerName::try_from(self.config.host.clone()).map_err(|e| {
            Failure::transient(format!(
                "\"{}\" is not a server name: {e}",
                self.config.host
            ))
        })?;
        let stream = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| Failure::transient(format!("TLS: {e}")))?;
        Ok(TlsTcp(stream))
    }

    fn starttls_parameters(&self) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        let mut builder = TlsParameters::builder(self.config.host.clone());
        if let Some(pem) = &self.config.ca_pem {
            builder = builder.add_root_certificate(Certificate::from_pem(pem)?);
        }
        builder.build_rustls()
    }
}

async fn drop_connection(slot: &mut Option<AsyncSmtpConnection>) {
    if let Some(mut connection) = slot.take() {
        connection.abort().await;
    }
}

/// Why a connection or a send failed, and whether trying again can help.
struct Failure {
    message: String,
    permanent: bool,
}

impl Failure {
    fn transient(message: String) -> Failure {
        Failure {
            message,
            permanent: false,
        }
    }
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(e: lettre::transport::smtp::Error) -> Failure {
        Failure {
            message: format!("{e:#}"),
            permanent: e.is_permanent(),
        }
    }
}

/// Implicit TLS over TCP, in the form lettre accepts as a stream.
#[derive(Debug)]
struct TlsTcp(TlsStream<TcpStream>);

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
