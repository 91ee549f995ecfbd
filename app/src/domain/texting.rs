//! Texting a code: issue it under the code engine's limits, put it in the SMS body, send it, and
//! give the send back to the limits when the provider did not take it. Shared by every flow
//! that proves a phone (sign-in, adding a phone, confirming it is you).

use std::sync::Arc;

use super::codes::{CodeEngine, CodeError, OtpCode, Purpose, SendRequest};
use super::phone::E164;
use super::sms::{SmsError, SmsSender};
use crate::i18n::{Lang, MessageId, t_in};

/// What became of a text the limits allowed.
#[derive(Debug)]
pub enum TextOutcome {
    Sent,
    /// The provider refused it or did not answer in time: the person got nothing (or, after
    /// a timeout, maybe something); it no longer counts against the person and the number.
    NotSent(SmsError),
}

#[derive(Clone)]
pub struct Texter {
    codes: CodeEngine,
    sms: Arc<dyn SmsSender>,
    /// The operator's text around a code (`{code}`, `{product}`, `{minutes}`), the same in
    /// every language; without one, the catalog's `text.code` in the person's language.
    template: Option<String>,
    product: String,
    /// For the origin-bound line `@host #code`.
    host: String,
}

impl Texter {
    pub fn new(
        codes: CodeEngine,
        sms: Arc<dyn SmsSender>,
        template: Option<String>,
        product: String,
        host: String,
    ) -> Self {
        Self { codes, sms, template, product, host }
    }

    pub fn codes(&self) -> &CodeEngine {
        &self.codes
    }

    /// The SMS body: the template, then the WebOTP line browsers only offer on our host.
    pub fn body(&self, code: &OtpCode, lang: Lang) -> String {
        let minutes = (self.codes.rules().lifetime_secs + 59) / 60;
        let template = self.template.as_deref().unwrap_or_else(|| t_in(lang, "text.code"));
        let text = template
            .replace("{product}", &self.product)
            .replace("{minutes}", &minutes.to_string())
            .replace("{code}", code.expose());
        format!("{text}\n\n@{} #{}", self.host, code.expose())
    }

    /// Issues a code for `flow_id`/`purpose` and texts it to `req.number`. `Err` when a limit
    /// or the second-step lock refused (nothing was sent).
    pub async fn send_code(
        &self,
        flow_id: &str,
        purpose: Purpose,
        req: &SendRequest<'_>,
        lang: Lang,
    ) -> Result<TextOutcome, CodeError> {
        let issued = self.codes.issue(flow_id, purpose, req).await?;
        let body = self.body(&issued.code, lang);
        let validity = u64::try_from(self.codes.rules().lifetime_secs).unwrap_or(300);
        match self.sms.send(req.number, &body, validity).await {
            Ok(sent) => {
                tracing::info!(to = %req.number, provider_id = %sent.provider_id, "code texted");
                Ok(TextOutcome::Sent)
            }
            Err(e) => {
                tracing::warn!(to = %req.number, error = %e, twilio_code = ?e.twilio_code(), "code text not sent");
                self.codes.send_failed(issued.ticket).await?;
                Ok(TextOutcome::NotSent(e))
            }
        }
    }

    /// The text of a security notice (`text.…`) in `lang`, about the phone ending `last4`.
    pub fn notice(&self, lang: Lang, id: MessageId, last4: &str) -> String {
        t_in(lang, id).replace("{last4}", last4).replace("{product}", &self.product)
    }

    /// A notice to one of the person's own phones ("a phone was added"). Best effort: a
    /// failure is logged, never shown as the failure of what the person did.
    pub async fn notify(&self, to: &E164, text: &str) {
        if let Err(e) = self.sms.send(to, text, 3600).await {
            tracing::warn!(to = %to, error = %e, "security notice text not sent");
        }
    }
}
