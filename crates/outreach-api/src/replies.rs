//! Commands of the inbox: the mailbox each sender account's replies are read from, the
//! replies, corrections of their intent, and classifying texts for scripts.

use outreach_core::inbox::{Mailbox, MailboxFields, Reply};
use outreach_core::reply::Intent;
use outreach_store::replies::ReplyFilter;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::events::ChangedEntity;
use crate::{AccountRef, AccountTest, Api, ApiError, ErrorCode, secrets};

/// A mailbox to save for an account.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveMailbox {
    /// The sender account.
    #[ts(type = "number")]
    pub account_id: i64,
    /// Settings.
    pub fields: MailboxFields,
    /// Password, app password or OAuth token for the mailbox; none keeps the stored one (or
    /// uses the account's sending password when there is none).
    pub secret: Option<String>,
}

/// Which replies to list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct ListReplies {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Only this intent.
    pub intent: Option<Intent>,
    /// Only those waiting for an answer.
    #[serde(default)]
    pub needs_reply: bool,
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
    /// Only replies people wrote (no auto-replies, bounces or complaints).
    #[serde(default)]
    pub human_only: bool,
    /// Only this prospect's.
    #[ts(type = "number | null")]
    pub prospect_id: Option<i64>,
    /// Older than this reply (paging).
    #[ts(type = "number | null")]
    pub before_id: Option<i64>,
    /// At most this many (200 when left out).
    #[ts(type = "number | null")]
    pub limit: Option<i64>,
}

/// A reply.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ReplyRef {
    /// Its id.
    #[ts(type = "number")]
    pub reply_id: i64,
    /// Mark it read (opening it in the inbox does).
    #[serde(default)]
    pub mark_read: bool,
}

/// A person's verdict on a reply's intent.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RelabelReply {
    /// The reply.
    #[ts(type = "number")]
    pub reply_id: i64,
    /// What it really means.
    pub intent: Intent,
}

/// Texts to classify.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ClassifyTexts {
    /// Use this workspace's corrections too.
    #[ts(type = "number | null")]
    pub workspace_id: Option<i64>,
    /// The texts (a reply's new text each).
    pub texts: Vec<String>,
}

/// What the classifier says about a text.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct Classification {
    /// Sentiment in -1..1.
    pub sentiment: f32,
    /// Intent.
    pub intent: Intent,
    /// Confidence in 0..1.
    pub confidence: f32,
}

impl Api {
    /// The reply mailbox of a sender account, if one is set.
    pub async fn get_mailbox(&self, args: AccountRef) -> Result<Option<Mailbox>, ApiError> {
        Ok(self.store.mailbox(args.account_id).await?)
    }

    /// Sets the mailbox the poller reads an account's replies from; its secret goes to the
    /// keychain.
    pub async fn save_mailbox(&self, args: SaveMailbox) -> Result<Mailbox, ApiError> {
        let account = self.store.account(args.account_id).await?;
        let had_secret = self
            .store
            .mailbox(args.account_id)
            .await?
            .is_some_and(|m| m.has_secret);
        let secret = args.secret.filter(|s| !s.is_empty());
        if secret.is_none() && !had_secret && !account.has_secret {
            return Err(ApiError::invalid(
                "give the mailbox's password or token (the account has no sending password to \
                 share)",
            ));
        }
        let mailbox = self
            .store
            .set_mailbox(args.account_id, &args.fields, self.config.actor())
            .await?;
        if let Some(secret) = secret {
            secrets::store(
                &self.config,
                args.account_id,
                secrets::Kind::Mailbox,
                &secret,
            )
            .await?;
            if let Err(e) = self
                .store
                .set_mailbox_secret_flag(args.account_id, true)
                .await
            {
                if matches!(e, outreach_store::StoreError::NotFound(_)) {
                    // Removed meanwhile: the secret would stay in the keychain for good.
                    secrets::delete(&self.config, args.account_id, secrets::Kind::Mailbox).await?;
                }
                return Err(e.into());
            }
        }
        self.poke_engine();
        self.changed(Some(mailbox.workspace_id), ChangedEntity::Campaigns);
        Ok(self
            .store
            .mailbox(args.account_id)
            .await?
            .unwrap_or(mailbox))
    }

    /// Stops reading an account's replies (replies already read stay) and takes the
    /// mailbox's own password or token out of the keychain.
    pub async fn remove_mailbox(&self, args: AccountRef) -> Result<u32, ApiError> {
        let account = self.store.account(args.account_id).await?;
        self.store
            .remove_mailbox(args.account_id, self.config.actor())
            .await?;
        self.poke_engine();
        self.changed(Some(account.workspace_id), ChangedEntity::Campaigns);
        secrets::delete(&self.config, args.account_id, secrets::Kind::Mailbox).await?;
        Ok(1)
    }

    /// Connects to the account's mailbox and reports exactly what failed, if anything.
    pub async fn test_mailbox(&self, args: AccountRef) -> Result<AccountTest, ApiError> {
        let mailbox = self.store.mailbox(args.account_id).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("sender account #{} has no reply mailbox", args.account_id),
            )
        })?;
        let own = if mailbox.has_secret {
            secrets::read(&self.config, args.account_id, secrets::Kind::Mailbox).await?
        } else {
            None
        };
        let password = match own {
            Some(p) => Some(p),
            None => secrets::read(&self.config, args.account_id, secrets::Kind::Secret).await?,
        }
        .ok_or_else(|| ApiError::invalid("no password or token for the mailbox is stored"))?;
        let settings = outreach_engine::imap_settings(&mailbox, password);
        Ok(
            match outreach_channels::imap::ImapSession::open(&settings).await {
                Ok(session) => {
                    let idle = session.supports_idle();
                    session.close().await;
                    AccountTest {
                        ok: true,
                        stage: None,
                        message: format!(
                            "signed in to {} and opened {}{}",
                            settings.host,
                            settings.mailbox,
                            if idle {
                                "; new replies arrive at once (IDLE)"
                            } else {
                                "; the server has no IDLE, so it is checked every minute"
                            }
                        ),
                    }
                }
                Err(e) => AccountTest {
                    ok: false,
                    stage: match &e {
                        outreach_channels::imap::ImapError::Connect(c) => {
                            serde_json::to_value(c.stage)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                        }
                        _ => Some("protocol".into()),
                    },
                    message: e.to_string(),
                },
            },
        )
    }

    /// Lets a running engine's reply poller see changed mailbox settings at once.
    pub(crate) fn poke_engine(&self) {
        let engine = self
            .engine
            .lock()
            .ok()
            .and_then(|e| e.as_ref().and_then(std::sync::Weak::upgrade));
        if let Some(engine) = engine {
            engine.mailboxes_changed();
        }
    }

    /// The workspace's replies, newest first.
    pub async fn list_replies(&self, args: ListReplies) -> Result<Vec<Reply>, ApiError> {
        let filter = ReplyFilter {
            intent: args.intent,
            needs_reply: args.needs_reply,
            unread: args.unread,
            human_only: args.human_only,
            prospect_id: args.prospect_id,
            before_id: args.before_id,
            limit: args.limit.unwrap_or(200).clamp(1, 1000),
        };
        Ok(self.store.list_replies(args.workspace_id, &filter).await?)
    }

    /// One reply; opening it marks it read when asked.
    pub async fn get_reply(&self, args: ReplyRef) -> Result<Reply, ApiError> {
        if args.mark_read {
            self.store.mark_reply_read(args.reply_id, false).await?;
        }
        let reply = self.store.reply(args.reply_id).await?;
        if args.mark_read {
            self.changed(Some(reply.workspace_id), ChangedEntity::Replies);
        }
        Ok(reply)
    }

    /// Corrects a reply's intent; the correction teaches later classifications of the
    /// workspace.
    pub async fn relabel_reply(&self, args: RelabelReply) -> Result<Reply, ApiError> {
        let reply = self
            .store
            .relabel_reply(args.reply_id, args.intent, self.config.actor())
            .await?;
        self.changed(Some(reply.workspace_id), ChangedEntity::Replies);
        self.changed(Some(reply.workspace_id), ChangedEntity::Prospects);
        Ok(reply)
    }

    /// How many replies people wrote that nobody opened yet.
    pub async fn unread_replies(&self, args: crate::WorkspaceRef) -> Result<u32, ApiError> {
        Ok(self.store.unread_replies(args.workspace_id).await?)
    }

    /// Classifies texts as the poller would (with the model when its files are there).
    pub async fn classify_texts(
        &self,
        args: ClassifyTexts,
    ) -> Result<Vec<Classification>, ApiError> {
        if args.texts.len() > 10_000 {
            return Err(ApiError::invalid("classify at most 10,000 texts at once"));
        }
        let analyzer = self.analyzer().await?;
        let corrections = match args.workspace_id {
            Some(ws) => self.store.intent_corrections(ws).await?,
            None => Vec::new(),
        };
        let texts = args.texts;
        let verdicts = tokio::task::spawn_blocking(move || {
            let index = if analyzer.has_model() {
                let examples: Vec<outreach_nlp::Example> = corrections
                    .iter()
                    .map(|(t, i)| outreach_nlp::Example::new(t.clone(), *i))
                    .collect();
                Some(analyzer.index_with(&examples)?)
            } else {
                None
            };
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            analyzer.analyze(&refs, index.as_ref())
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        Ok(verdicts
            .into_iter()
            .map(|a| Classification {
                sentiment: a.sentiment,
                intent: a.intent,
                confidence: a.confidence,
            })
            .collect())
    }
}
