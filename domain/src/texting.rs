//! Texting a code: issue it under the code engine's limits, put it in the SMS body, send it, and
//! give the send back to the limits when the provider certainly did not send it. Shared by
//! every flow that proves a phone (sign-in, adding a phone, confirming it is you), and by the
//! security notices, which count against the same limits.

use std::sync::Arc;

use super::codes::{Channel, CodeEngine, CodeError, OtpCode, Purpose, SendRequest};
use super::directory::UserId;
use super::phone::E164;
use super::{
    audit::{self},
    ports::AuditLog,
};
use super::{authenticated::Authenticated, client::Client};
use super::{ports::SmsSender, sms::SmsError};
use messages::{Lang, MessageId, t_in};

/// What became of a text (or call) the limits allowed.
#[derive(Debug)]
pub enum TextOutcome {
    /// Texted, or called: see the channel of the request ([`Texter::channel_for`]).
    Sent,
    /// The provider refused it or did not answer in time: the person got nothing (or, after a
    /// timeout or a 5xx, maybe something). Only a certain refusal gives it back to the person's
    /// and the number's allowance ([`SmsError::may_have_been_sent`]).
    NotSent(SmsError),
}

/// Whom a security notice is about and who caused it: it counts against that person's
/// allowance, and one that is not sent is written to the audit trail.
pub struct NoticeFor<'a> {
    pub audit: &'a dyn AuditLog,
    pub client: &'a Client,
    /// The person whose phones get the notice.
    pub person: &'a UserId,
    /// Who acted, as (user id, login): the person, or an administrator.
    pub actor: (&'a str, &'a str),
}

impl<'a> NoticeFor<'a> {
    /// The person changed their own account.
    pub fn own(audit: &'a dyn AuditLog, client: &'a Client, user: &'a Authenticated) -> Self {
        Self::by(audit, client, user, &user.user_id)
    }

    /// `actor` (an administrator) changed `person`'s account.
    pub fn by(
        audit: &'a dyn AuditLog,
        client: &'a Client,
        actor: &'a Authenticated,
        person: &'a UserId,
    ) -> Self {
        Self { audit, client, person, actor: (actor.user_id.as_str(), actor.login.as_str()) }
    }
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

    /// Whether the provider places calls (landlines can only be enrolled when it does).
    pub fn places_calls(&self) -> bool {
        self.sms.places_calls()
    }

    /// How a code reaches `number` when `wanted` is asked for ([`Channel::for_number`]).
    pub fn channel_for(&self, number: &E164, wanted: Channel) -> Channel {
        Channel::for_number(number, wanted, self.places_calls())
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

    /// Issues a code for `flow_id`/`purpose` and texts it to `req.number`, or calls it when
    /// `req.channel` is a call. A number that does not take texts is always called (the caller
    /// resolves the channel with [`Texter::channel_for`] first, so that the limits count what is
    /// sent). `Err` when a limit or the second-step lock refused (nothing was sent).
    pub async fn send_code(
        &self,
        flow_id: &str,
        purpose: Purpose,
        req: &SendRequest<'_>,
        lang: Lang,
    ) -> Result<TextOutcome, CodeError> {
        let channel = if req.number.takes_texts() { req.channel } else { Channel::Call };
        let req = &SendRequest { channel, ..req.clone() };
        let issued = self.codes.issue(flow_id, purpose, req).await?;
        let sent = match channel {
            Channel::Text => {
                let body = self.body(&issued.code, lang);
                let validity = u64::try_from(self.codes.rules().lifetime_secs).unwrap_or(300);
                self.sms.send(req.number, &body, validity).await
            }
            Channel::Call => {
                let call = crate::voice::code_call(&issued.code, lang, &self.product);
                self.sms.call(req.number, &call).await
            }
        };
        match (sent, channel) {
            (Ok(sent), Channel::Text) => {
                tracing::info!(to = %req.number, provider_id = %sent.provider_id, "code texted");
                Ok(TextOutcome::Sent)
            }
            (Ok(sent), Channel::Call) => {
                tracing::info!(to = %req.number, provider_id = %sent.provider_id, "code called");
                Ok(TextOutcome::Sent)
            }
            (Err(e), channel) => {
                let what = match channel {
                    Channel::Text => "code text not sent",
                    Channel::Call => "code call not placed",
                };
                tracing::warn!(to = %req.number, error = %e, twilio_code = ?e.twilio_code(), "{what}");
                self.give_back(issued.ticket, &e).await?;
                Ok(TextOutcome::NotSent(e))
            }
        }
    }

    /// The text of a security notice (`text.…`) in `lang`, about the phone ending `last4`.
    pub fn notice(&self, lang: Lang, id: MessageId, last4: &str) -> String {
        t_in(lang, id).replace("{last4}", last4).replace("{product}", &self.product)
    }

    /// A failed send no longer counts against the person and the number, unless the text may
    /// have gone out (a timeout, a 5xx): then it must, or each timeout would be a free text.
    async fn give_back(
        &self,
        ticket: super::codes::SendTicket,
        e: &SmsError,
    ) -> Result<(), CodeError> {
        if e.may_have_been_sent() {
            tracing::info!("the text may have been sent: it still counts against the limits");
            Ok(())
        } else {
            self.codes.send_failed(ticket).await
        }
    }

    /// A notice to one of the person's own phones ("a phone was added"), under the send limits
    /// notices share with codes (the global budget, the number's and the person's). Best
    /// effort: a notice a limit or the provider refused is logged and audited, never shown as
    /// the failure of what the person did.
    /// Landlines get no notice: it is a text, and they take none.
    pub async fn notify(&self, about: &NoticeFor<'_>, to: &E164, text: &str) {
        if !to.takes_texts() {
            tracing::info!(to = %to, "security notice not texted: the number is a landline");
            return;
        }
        let req = SendRequest {
            user_id: about.person.as_str(),
            number: to,
            client_ip: &about.client.ip,
            now: about.client.now,
            channel: Channel::Text,
        };
        // (outcome, detail) of a notice that did not go out.
        let refusal = match self.codes.reserve_notice(&req).await {
            Ok(ticket) => match self.sms.send(to, text, 3600).await {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(to = %to, error = %e, twilio_code = ?e.twilio_code(), "security notice text not sent");
                    if let Err(store) = self.give_back(ticket, &e).await {
                        tracing::warn!(error = %store, "the failed notice still counts against the limits");
                    }
                    ("failed", format!("{}: {e}", to.masked()))
                }
            },
            Err(e) => {
                tracing::warn!(to = %to, error = %e, "security notice text not sent: a send limit refused it");
                ("rejected", format!("{}: {e}", to.masked()))
            }
        };
        let subject = (about.person.as_str() != about.actor.0).then(|| about.person.as_str());
        let entry = audit::Entry {
            kind: "security.notice",
            actor: Some(about.actor),
            subject,
            outcome: refusal.0,
            detail: Some(refusal.1),
        };
        audit::write(about.audit, about.client, entry).await;
    }
}
