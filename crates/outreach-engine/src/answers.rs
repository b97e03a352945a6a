//! Answers to replies (what a person sends from the inbox, and a campaign's positive
//! follow-up): completed with the compliance lines, checked by the same gate as every step,
//! and queued in the outbox as a message in the reply's thread.

use jiff::Timestamp;
use outreach_channels::message::is_valid_message_id;
use outreach_core::campaign::{SenderAccount, SendingSettings};
use outreach_core::compliance::{Refusal, RefusalCode};
use outreach_core::inbox::ReplyDraft;
use outreach_core::prospect::{Prospect, Workspace};
use outreach_core::template::{Variables, find_placeholders};
use outreach_store::drafts::{AnswerMessage, AnsweredReply};
use outreach_store::{Actor, Store, StoreError};

use crate::scheduler::{check_headers, new_message_id};
use crate::{EngineError, Keys, gate, iso, variables};

/// Everything an answer is checked and addressed with.
pub(crate) struct AnswerContext {
    pub(crate) workspace: Workspace,
    pub(crate) settings: SendingSettings,
    pub(crate) account: SenderAccount,
    pub(crate) prospect: Prospect,
    pub(crate) has_assessment: bool,
}

impl AnswerContext {
    /// What an answer to `reply` sent from account `from` needs.
    pub(crate) async fn load(
        store: &Store,
        reply: &AnsweredReply,
        from: i64,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            workspace: store.workspace(reply.workspace_id).await?,
            settings: store.sending_settings(reply.workspace_id).await?,
            account: match store.account(from).await {
                Err(StoreError::NotFound(_)) => {
                    return Err(StoreError::Conflict(format!(
                        "the sender account this answer would go out from (#{from}) was removed; choose another account to send it from"
                    ))
                    .into());
                }
                other => other?,
            },
            prospect: store.prospect(reply.prospect_id).await?,
            has_assessment: store
                .current_assessment(reply.workspace_id)
                .await?
                .is_some(),
        })
    }
}

/// The body as sent: what was written, then the opt-out line and the postal address when
/// the text does not carry them already (a rendered template usually does).
pub fn complete_body(written: &str, vars: &Variables) -> String {
    let mut body = written.trim_end().to_string();
    let mut footer = Vec::new();
    for key in ["opt_out", "postal_address"] {
        if let Some(line) = vars.get(key).and_then(|v| v.as_str()) {
            let line = line.trim();
            if !line.is_empty() && !body.contains(line) {
                footer.push(line.to_string());
            }
        }
    }
    if !footer.is_empty() {
        body.push_str("\n\n-- \n");
        body.push_str(&footer.join("\n"));
    }
    body.push('\n');
    body
}

/// Checks an answer (`subject`, `written` body) to `reply` and returns the message to
/// queue, or the gate's refusal.
pub(crate) async fn prepare_answer(
    store: &Store,
    keys: &Keys,
    reply: &AnsweredReply,
    ctx: &AnswerContext,
    subject: &str,
    written: &str,
    due_at: Timestamp,
) -> Result<Result<AnswerMessage, Refusal>, EngineError> {
    let subject = subject.trim();
    if subject.is_empty() || written.trim().is_empty() {
        return Ok(Err(Refusal {
            code: RefusalCode::TemplateProblem,
            reason: "an answer needs a subject and a text".into(),
        }));
    }
    let mut problems: Vec<String> = find_placeholders(&format!("{subject}\n{written}"))
        .into_iter()
        .map(|p| format!("the text still holds the placeholder {p}"))
        .collect();
    if ctx.workspace.postal_address.trim().is_empty() {
        problems.push("the workspace has no postal address, which every message carries".into());
    }
    let verdict = gate::check_prospect(
        store,
        &keys.suppression,
        &ctx.prospect,
        &ctx.settings,
        ctx.has_assessment,
        &problems,
    )
    .await?;
    if let Err(refusal) = verdict {
        return Ok(Err(refusal));
    }
    let (token, vars) = variables::for_recipient(
        &keys.unsubscribe,
        &ctx.workspace,
        &ctx.settings,
        &ctx.account,
        &ctx.prospect,
    );
    let to_name = vars
        .get("full_name")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if let Err(refusal) = check_headers(subject, to_name.as_deref()) {
        return Ok(Err(refusal));
    }
    Ok(Ok(AnswerMessage {
        account_id: ctx.account.id,
        message_id: new_message_id(&ctx.account.fields.from_address),
        to_address: ctx.prospect.email.clone().unwrap_or_default(),
        to_name,
        subject: subject.to_string(),
        body: complete_body(written, &vars),
        unsubscribe_token: token,
        due_at: iso(due_at),
        // A Message-ID we could not repeat safely in a header only costs the threading.
        in_reply_to: reply
            .rfc_message_id
            .clone()
            .filter(|id| is_valid_message_id(id)),
    }))
}

/// What became of a person's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerOutcome {
    /// In the outbox; the engine sends it within the account's caps.
    Queued(ReplyDraft),
    /// The compliance gate refused it (audited); the draft is unchanged.
    Refused(Refusal),
}

/// An answer as a person wrote it.
#[derive(Debug, Clone, Copy)]
pub struct WrittenAnswer<'a> {
    /// The draft.
    pub draft_id: i64,
    /// Subject.
    pub subject: &'a str,
    /// Text, before the compliance lines are added.
    pub body: &'a str,
    /// Another sender account to send it from; `None` keeps the draft's.
    pub from: Option<i64>,
}

/// Sends a draft as written: saves it, checks the answer with the compliance gate and queues
/// it in the outbox, due at once. A refusal leaves the draft (with the new text) and is
/// audited; a draft already queued is a conflict, never a second message.
pub async fn send_answer(
    store: &Store,
    keys: &Keys,
    answer: WrittenAnswer<'_>,
    actor: Actor,
) -> Result<AnswerOutcome, EngineError> {
    let WrittenAnswer {
        draft_id,
        subject,
        body: written,
        from,
    } = answer;
    let draft = store.save_draft(draft_id, subject, written, from).await?;
    let reply = store.answered_reply(draft.reply_id).await?;
    let ctx = AnswerContext::load(store, &reply, draft.account_id).await?;
    let prepared = prepare_answer(
        store,
        keys,
        &reply,
        &ctx,
        subject,
        written,
        Timestamp::now(),
    )
    .await?;
    match prepared {
        Ok(message) => Ok(AnswerOutcome::Queued(
            store.queue_draft(draft_id, &message, actor).await?,
        )),
        Err(refusal) => {
            store
                .audit(
                    Some(reply.workspace_id),
                    Some(reply.prospect_id),
                    actor,
                    "reply.answer_blocked",
                    &format!(
                        "answer to reply #{} refused: {}",
                        reply.reply_id,
                        refusal.code.as_str()
                    ),
                    Some(&serde_json::json!({
                        "reply": reply.reply_id,
                        "draft": draft_id,
                        "code": refusal.code.as_str(),
                    })),
                )
                .await?;
            Ok(AnswerOutcome::Refused(refusal))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_compliance_lines_are_added_once() {
        let mut vars = Variables::new();
        vars.insert(
            "opt_out".into(),
            Value::String("Reply STOP to opt out.".into()),
        );
        vars.insert("postal_address".into(), Value::String("1 Main St".into()));
        let body = complete_body("Hi Ada,\n\nHappy to talk.\n\n", &vars);
        assert_eq!(
            body,
            "Hi Ada,\n\nHappy to talk.\n\n-- \nReply STOP to opt out.\n1 Main St\n"
        );
        assert_eq!(complete_body(&body, &vars), body, "nothing added twice");
        let half = complete_body("Thanks!\n1 Main St", &vars);
        assert_eq!(half, "Thanks!\n1 Main St\n\n-- \nReply STOP to opt out.\n");
    }
}
