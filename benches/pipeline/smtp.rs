//! A plain SMTP client for the baseline: one connection, `TCP_NODELAY`,
//! no pipelining, each message written with its terminating dot in one
//! write, the way Python's smtplib does it.

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// An open SMTP session.
pub struct PlainSmtp {
    stream: BufReader<TcpStream>,
}

impl PlainSmtp {
    /// Connects and says EHLO.
    pub async fn connect(port: u16) -> anyhow::Result<PlainSmtp> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        let mut smtp = PlainSmtp {
            stream: BufReader::new(tcp),
        };
        smtp.expect(220).await?;
        smtp.command("EHLO bench.example.test\r\n", 250).await?;
        Ok(smtp)
    }

    /// Sends one message.
    pub async fn send(&mut self, from: &str, to: &str, raw: &[u8]) -> anyhow::Result<()> {
        self.command(&format!("MAIL FROM:<{from}>\r\n"), 250)
            .await?;
        self.command(&format!("RCPT TO:<{to}>\r\n"), 250).await?;
        self.command("DATA\r\n", 354).await?;
        let mut data = Vec::with_capacity(raw.len() + 64);
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        if !data.ends_with(b"\r\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.stream.get_mut().write_all(&data).await?;
        self.expect(250).await
    }

    async fn command(&mut self, line: &str, code: u16) -> anyhow::Result<()> {
        self.stream.get_mut().write_all(line.as_bytes()).await?;
        self.expect(code).await
    }

    /// Reads a (possibly multi-line) reply and checks its code.
    async fn expect(&mut self, code: u16) -> anyhow::Result<()> {
        loop {
            let mut line = String::new();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("the SMTP server closed the connection");
            }
            let got: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .context("a reply code")?;
            if got != code {
                bail!("expected {code}, got: {}", line.trim_end());
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    }
}
