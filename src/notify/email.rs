//! Email alerts over SMTP (lettre), as multipart text + HTML.

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Attempt, Message};
use crate::config::SmtpTls;

/// Server-wide SMTP settings.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

#[derive(Template)]
#[template(path = "email/issue.txt", escape = "none")]
struct TextMail<'a> {
    msg: &'a Message,
}

#[derive(Template)]
#[template(path = "email/issue.html")]
struct HtmlMail<'a> {
    msg: &'a Message,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(s: &SmtpSettings) -> Result<Mailer, String> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("invalid smtp_from {:?}: {e}", s.from))?;
        let tls = match s.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(TlsParameters::new(s.host.clone()).map_err(|e| e.to_string())?),
            SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(s.host.clone()).map_err(|e| e.to_string())?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(15)));
        if let (Some(user), Some(password)) = (&s.user, &s.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, recipients: &str, msg: &Message) -> Attempt {
        let mut builder = lettre::Message::builder().from(self.from.clone()).subject(&msg.subject);
        for to in recipients.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match to.parse::<Mailbox>() {
                Ok(mb) => builder = builder.to(mb),
                Err(e) => return Attempt::Fail(format!("invalid recipient {to:?}: {e}")),
            }
        }
        let (text, html) = match (TextMail { msg }.render(), HtmlMail { msg }.render()) {
            (Ok(t), Ok(h)) => (t, h),
            (Err(e), _) | (_, Err(e)) => return Attempt::Fail(format!("cannot render the email: {e}")),
        };
        let email = match builder.multipart(MultiPart::alternative_plain_html(text, html)) {
            Ok(email) => email,
            Err(e) => return Attempt::Fail(format!("cannot build the email: {e}")),
        };
        match self.transport.send(email).await {
            Ok(_) => Attempt::Delivered,
            Err(e) if e.is_permanent() => Attempt::Fail(format!("SMTP refused: {e}")),
            Err(e) => Attempt::Retry(format!("SMTP failed: {e}")),
        }
    }
}
