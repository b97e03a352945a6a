//! `outreach mailbox`, `outreach replies`, `outreach classify` and `outreach model`.

use std::io::{BufRead, Write};

use anyhow::Result;
use clap::Subcommand;
use outreach_api::core::inbox::{DraftState, MailboxAuth, MailboxFields, MailboxSecurity, Reply};
use outreach_api::core::reply::Intent;
use outreach_api::{
    AccountRef, Api, ApiError, ClassifyTexts, DownloadModel, ErrorCode, ListReplies, NoArgs,
    ReferralRef, RelabelReply, ReplyRef, ResolveUnconfirmed, SaveMailbox, WriteAnswer,
};

use crate::cli::workspace;
use crate::output;

/// The mailbox a sender account's replies are read from.
#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// Set the IMAP mailbox of an account. Its password, app password or OAuth token is read
    /// from OUTREACH_MAILBOX_SECRET (never from the command line) and kept in the OS keychain;
    /// without one, the account's sending password is used.
    Set {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The sender account's name.
        account: String,
        /// IMAP host.
        #[arg(long)]
        host: String,
        /// Port (default 993, or 143 for plain_loopback).
        #[arg(long)]
        port: Option<u16>,
        /// implicit_tls, or plain_loopback (only to a server on this machine).
        #[arg(long, default_value = "implicit_tls")]
        security: String,
        /// Login name.
        #[arg(long)]
        username: String,
        /// password (also app passwords) or xoauth2 (the secret is an access token).
        #[arg(long, default_value = "password")]
        auth: String,
        /// The folder to read.
        #[arg(long, default_value = "INBOX")]
        folder: String,
        /// Set it up without polling it yet.
        #[arg(long)]
        disabled: bool,
    },
    /// Sign in to the mailbox and say exactly what fails, if anything.
    Test {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The sender account's name.
        account: String,
    },
    /// Stop reading the account's replies (those read stay).
    Remove {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// The sender account's name.
        account: String,
    },
}

/// Replies in the inbox.
#[derive(Debug, Subcommand)]
pub enum RepliesCommand {
    /// List replies, newest first.
    List {
        /// The workspace.
        #[arg(long, short)]
        workspace: String,
        /// Only this intent (interested, question, not_interested, unsubscribe,
        /// out_of_office, referral, other).
        #[arg(long)]
        intent: Option<String>,
        /// Only those waiting for an answer.
        #[arg(long)]
        needs_reply: bool,
        /// Only unread ones.
        #[arg(long)]
        unread: bool,
        /// Include auto-replies, bounces and complaints.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show one reply (and mark it read).
    Show {
        /// The reply's id.
        id: i64,
    },
    /// Correct a reply's intent; later replies of the workspace learn from it.
    Relabel {
        /// The reply's id.
        id: i64,
        /// The right intent.
        intent: String,
    },
    /// Add a contact a referral named as a prospect (`accept`), or `dismiss` it; `replies
    /// show` lists them with their ids.
    Referral {
        /// The proposal's id.
        id: i64,
        /// `accept` or `dismiss`.
        #[arg(value_parser = ["accept", "dismiss"])]
        decision: String,
    },
    /// Answer a reply through the outbox (the compliance gate checks it; `outreach run` or
    /// the app sends it). Starts from the reply's draft when the app prepared one.
    Answer {
        /// The reply's id.
        id: i64,
        /// The text; `-` reads it from stdin. Without it, the prepared draft is sent as is.
        #[arg(long)]
        body: Option<String>,
        /// The subject (default: the draft's, "Re: " and the reply's subject).
        #[arg(long)]
        subject: Option<String>,
        /// Send it from this sender account instead of the one the reply came in through
        /// (needed once that one was removed).
        #[arg(long, value_name = "ACCOUNT")]
        from: Option<String>,
        /// Only save the draft; send nothing.
        #[arg(long)]
        draft: bool,
    },
    /// Decide about a reply's answer that the app stopped while sending (status
    /// `unconfirmed`): `mark-sent` after finding it in the Sent folder, `resend`, or `cancel`.
    Resolve {
        /// The reply's id.
        id: i64,
        /// `mark-sent`, `resend` or `cancel`.
        #[arg(long)]
        choice: String,
    },
}

fn intent(s: &str) -> Result<Intent> {
    Intent::parse(s.trim()).ok_or_else(|| {
        let all: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
        ApiError::invalid(format!(
            "unknown intent '{s}'; use one of {}",
            all.join(", ")
        ))
        .into()
    })
}

pub async fn mailbox(api: &Api, cmd: MailboxCommand, json: bool) -> Result<()> {
    match cmd {
        MailboxCommand::Set {
            workspace: ws,
            account,
            host,
            port,
            security,
            username,
            auth,
            folder,
            disabled,
        } => {
            let w = workspace(api, &ws).await?;
            let a = api.account_by_name(w.id, &account).await?;
            let security = MailboxSecurity::parse(&security).ok_or_else(|| {
                ApiError::invalid(format!(
                    "unknown security '{security}'; use implicit_tls or plain_loopback"
                ))
            })?;
            let auth = MailboxAuth::parse(&auth).ok_or_else(|| {
                ApiError::invalid(format!("unknown auth '{auth}'; use password or xoauth2"))
            })?;
            let m = api
                .save_mailbox(SaveMailbox {
                    account_id: a.id,
                    fields: MailboxFields {
                        host,
                        port,
                        security,
                        username,
                        auth,
                        mailbox: folder,
                        enabled: !disabled,
                    },
                    secret: std::env::var("OUTREACH_MAILBOX_SECRET").ok(),
                })
                .await?;
            if json {
                output::json(&m)?;
            } else {
                println!(
                    "replies of '{}' are read from {}:{} ({}){}",
                    a.fields.name,
                    m.fields.host,
                    m.fields.port.unwrap_or_default(),
                    m.fields.mailbox,
                    if m.fields.enabled {
                        ""
                    } else {
                        "; not polled yet"
                    }
                );
            }
        }
        MailboxCommand::Test {
            workspace: ws,
            account,
        } => {
            let w = workspace(api, &ws).await?;
            let a = api.account_by_name(w.id, &account).await?;
            let t = api.test_mailbox(AccountRef { account_id: a.id }).await?;
            output::connection_test(&t, json)?;
        }
        MailboxCommand::Remove {
            workspace: ws,
            account,
        } => {
            let w = workspace(api, &ws).await?;
            let a = api.account_by_name(w.id, &account).await?;
            api.remove_mailbox(AccountRef { account_id: a.id }).await?;
            if !json {
                println!("replies of '{}' are no longer read", a.fields.name);
            }
        }
    }
    Ok(())
}

pub async fn replies(api: &Api, cmd: RepliesCommand, json: bool) -> Result<()> {
    match cmd {
        RepliesCommand::List {
            workspace: ws,
            intent: wanted,
            needs_reply,
            unread,
            all,
            limit,
        } => {
            let w = workspace(api, &ws).await?;
            let list = api
                .list_replies(ListReplies {
                    workspace_id: w.id,
                    intent: wanted.as_deref().map(intent).transpose()?,
                    needs_reply,
                    unread,
                    human_only: !all,
                    limit: Some(limit),
                    ..Default::default()
                })
                .await?;
            if json {
                output::json(&list)?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.received_at.chars().take(16).collect(),
                            r.prospect_name.clone(),
                            r.kind.as_str().to_string(),
                            format!("{} {:.2}", r.intent.as_str(), r.confidence),
                            r.new_text.clone(),
                        ]
                    })
                    .collect();
                output::table(&["ID", "RECEIVED", "FROM", "KIND", "INTENT", "TEXT"], &rows);
            }
        }
        RepliesCommand::Show { id } => {
            let r = api
                .get_reply(ReplyRef {
                    reply_id: id,
                    mark_read: true,
                })
                .await?;
            if json {
                output::json(&r)?;
            } else {
                print_reply(&r);
                for a in api
                    .reply_answers(ReplyRef {
                        reply_id: id,
                        mark_read: false,
                    })
                    .await?
                {
                    let status = match a.state {
                        DraftState::Draft => "draft".to_string(),
                        _ => a
                            .message_status
                            .clone()
                            .unwrap_or_else(|| a.state.as_str().into()),
                    };
                    println!(
                        "\nanswer #{} ({status}): {}\n{}",
                        a.id,
                        a.subject,
                        a.body.trim_end()
                    );
                }
                for p in api
                    .referrals(ReplyRef {
                        reply_id: id,
                        mark_read: false,
                    })
                    .await?
                {
                    let name = p
                        .name
                        .as_deref()
                        .map(|n| format!("{n} "))
                        .unwrap_or_default();
                    println!(
                        "\nreferral #{}: {name}<{}> ({})",
                        p.id,
                        p.email,
                        p.state.as_str()
                    );
                }
            }
        }
        RepliesCommand::Answer {
            id,
            body,
            subject,
            from,
            draft,
        } => {
            let open = api
                .open_answer(ReplyRef {
                    reply_id: id,
                    mark_read: false,
                })
                .await?;
            let body = match body.as_deref() {
                Some("-") => {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
                    text
                }
                Some(text) => text.to_string(),
                None => open.body.clone(),
            };
            let account_id = match &from {
                Some(name) => {
                    let reply = api
                        .get_reply(ReplyRef {
                            reply_id: id,
                            mark_read: false,
                        })
                        .await?;
                    Some(api.account_by_name(reply.workspace_id, name).await?.id)
                }
                None => None,
            };
            let args = WriteAnswer {
                draft_id: open.id,
                subject: subject.unwrap_or(open.subject),
                body,
                account_id,
            };
            let saved = if draft {
                api.save_answer(args).await?
            } else {
                api.send_answer(args).await?
            };
            if json {
                output::json(&saved)?;
            } else if draft {
                println!("draft #{} saved for reply #{id}", saved.id);
            } else {
                println!(
                    "answer to reply #{id} queued as message #{}; `outreach run` or the app sends it",
                    saved.outbox_id.unwrap_or_default()
                );
            }
        }
        RepliesCommand::Resolve { id, choice } => {
            let choice = crate::sending::unconfirmed_choice(&choice)?;
            let reply = ReplyRef {
                reply_id: id,
                mark_read: false,
            };
            let workspace_id = api.get_reply(reply.clone()).await?.workspace_id;
            let message_ids: Vec<i64> = api
                .reply_answers(reply)
                .await?
                .iter()
                .filter(|a| a.message_status.as_deref() == Some("unconfirmed"))
                .filter_map(|a| a.outbox_id)
                .collect();
            if message_ids.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!(
                        "reply #{id} has no unconfirmed answer; `outreach replies show {id}` lists its answers"
                    ),
                )
                .into());
            }
            let n = api
                .resolve_unconfirmed(ResolveUnconfirmed {
                    workspace_id,
                    message_ids,
                    choice,
                })
                .await?;
            if json {
                output::json(&n)?;
            } else {
                println!("{n} answer(s) to reply #{id} resolved");
            }
        }
        RepliesCommand::Referral { id, decision } => {
            let args = ReferralRef { referral_id: id };
            let settled = if decision == "accept" {
                api.accept_referral(args).await?
            } else {
                api.dismiss_referral(args).await?
            };
            if json {
                output::json(&settled)?;
            } else {
                match settled.prospect_id {
                    Some(p) => println!(
                        "{} added as prospect #{p}; give them a lawful basis before writing",
                        settled.email
                    ),
                    None => println!("{} dismissed", settled.email),
                }
            }
        }
        RepliesCommand::Relabel { id, intent: label } => {
            let r = api
                .relabel_reply(RelabelReply {
                    reply_id: id,
                    intent: intent(&label)?,
                })
                .await?;
            if json {
                output::json(&r)?;
            } else {
                println!(
                    "reply #{} is now {}; later replies of this workspace learn from it",
                    r.id,
                    r.intent.as_str()
                );
            }
        }
    }
    Ok(())
}

fn print_reply(r: &Reply) {
    println!("reply #{} from {}", r.id, r.prospect_name);
    let from = match (&r.from_name, &r.from_address) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (None, Some(a)) => a.clone(),
        _ => String::new(),
    };
    println!("from:       {from}");
    println!("subject:    {}", r.subject);
    println!("received:   {}", r.received_at);
    if let Some(c) = &r.campaign_name {
        println!("campaign:   {c}");
    }
    println!("kind:       {}", r.kind.as_str());
    println!(
        "intent:     {} ({:.2}, {}){}",
        r.intent.as_str(),
        r.confidence,
        r.intent_source,
        r.sentiment
            .map(|s| format!("; sentiment {s:+.2}"))
            .unwrap_or_default()
    );
    if let Some(d) = &r.return_date {
        println!("back on:    {d}");
    }
    if !r.actions.is_empty() {
        println!("done:       {}", r.actions);
    }
    println!("\n{}", r.new_text);
}

/// `outreach classify`: one text per line on stdin, one JSON object per line on stdout.
pub async fn classify(api: &Api, ws: Option<String>) -> Result<()> {
    let workspace_id = match ws {
        Some(name) => Some(workspace(api, &name).await?.id),
        None => None,
    };
    let stdin = std::io::stdin();
    let mut batch: Vec<String> = Vec::new();
    for line in stdin.lock().lines() {
        batch.push(line?);
        // Batches keep the model busy without holding a large input in memory.
        if batch.len() == 64 {
            print_classified(api, workspace_id, std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        print_classified(api, workspace_id, batch).await?;
    }
    Ok(())
}

async fn print_classified(api: &Api, workspace_id: Option<i64>, texts: Vec<String>) -> Result<()> {
    let results = api
        .classify_texts(ClassifyTexts {
            workspace_id,
            texts,
        })
        .await?;
    let mut out = std::io::stdout().lock();
    for c in results {
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "sentiment": c.sentiment,
                "intent": c.intent,
                "confidence": c.confidence,
            })
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The reply model.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Whether the model's files are there.
    Status,
    /// Fetch the model's files (checked against the pinned SHA-256).
    Download {
        /// Where from (default OUTREACH_MODEL_URL).
        #[arg(long)]
        url: Option<String>,
    },
}

pub async fn model(api: &Api, cmd: ModelCommand, json: bool) -> Result<()> {
    let status = match cmd {
        ModelCommand::Status => api.model_status(NoArgs {}).await?,
        ModelCommand::Download { url } => {
            let mut events = api.subscribe();
            let progress = (!json).then(|| {
                tokio::spawn(async move {
                    let mut shown = 0u64;
                    while let Ok(e) = events.recv().await {
                        if let outreach_api::ApiEvent::ModelProgress { done, total } = e
                            && done >= shown
                        {
                            shown = done + 8 * 1024 * 1024;
                            match total {
                                Some(t) => eprintln!("{} of {} MB", done >> 20, t >> 20),
                                None => eprintln!("{} MB", done >> 20),
                            }
                        }
                    }
                })
            });
            let r = api.download_model(DownloadModel { url }).await;
            if let Some(p) = progress {
                p.abort();
            }
            r?
        }
    };
    if json {
        output::json(&status)?;
    } else if status.present {
        println!("the reply model is in {}", status.dir);
    } else {
        println!(
            "no reply model in {}; replies are classified with rules and the lexicon",
            status.dir
        );
    }
    Ok(())
}
