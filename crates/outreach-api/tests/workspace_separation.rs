//! One client's workspace is never changed through a request naming another, whatever ids
//! the request carries: the API checks whose template, campaign and account it is.
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use outreach_api::core::campaign::{
    AccountFields, CampaignFields, SmtpSecurityMode, Step, StepCondition, Transport,
};
use outreach_api::core::schedule::{SendWindow, Weekday};
use outreach_api::store::workspaces::WorkspaceFields;
use outreach_api::{
    Api, ApiConfig, Caller, CampaignRef, ErrorCode, KeyChoice, SaveAccount, SaveCampaign,
    SaveTemplate, WorkspaceRef,
};

/// An API on a fresh data folder whose key is in a file (no keychain needed).
async fn api(dir: &tempfile::TempDir) -> Api {
    Api::open(ApiConfig {
        data_dir: dir.path().join("data"),
        key: KeyChoice::File(dir.path().join("key")),
        caller: Caller::Cli,
    })
    .await
    .unwrap()
}

async fn workspace(api: &Api, name: &str) -> i64 {
    api.create_workspace(WorkspaceFields {
        name: name.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .id
}

fn relay(name: &str) -> AccountFields {
    AccountFields {
        host: Some("127.0.0.1".into()),
        port: Some(2525),
        security: Some(SmtpSecurityMode::PlainLoopback),
        ..AccountFields::new(name, Transport::Smtp, "Alex", "alex@brand.example")
    }
}

#[tokio::test]
async fn a_request_naming_one_workspace_changes_nothing_of_another() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(&dir).await;
    let a = workspace(&api, "Client A").await;
    let b = workspace(&api, "Client B").await;
    let save_account = |ws: i64, id: Option<i64>, name: &str| SaveAccount {
        workspace_id: ws,
        id,
        fields: relay(name),
        secret: None,
        dkim_private_key: None,
        remove_dkim_key: false,
    };
    let account_a = api
        .save_account(save_account(a, None, "A relay"))
        .await
        .unwrap()
        .item;
    let account_b = api
        .save_account(save_account(b, None, "B relay"))
        .await
        .unwrap()
        .item;
    let template_b = api
        .save_template(SaveTemplate {
            workspace_id: b,
            id: None,
            name: "B intro".into(),
            subject: "Hi".into(),
            body: "Hello".into(),
        })
        .await
        .unwrap()
        .item;
    let fields = CampaignFields {
        name: "B launch".into(),
        account_id: Some(account_b.id),
        window: SendWindow {
            days: vec![Weekday::Mon],
            start_minute: 540,
            end_minute: 1020,
        },
        daily_cap: None,
        min_gap_seconds: 0,
        max_gap_seconds: 0,
        steps: vec![Step {
            delay_business_days: 0,
            condition: StepCondition::Always,
            template_ids: vec![template_b.id],
        }],
        positive_follow_up: Default::default(),
    };
    let campaign_b = api
        .save_campaign(SaveCampaign {
            workspace_id: b,
            id: None,
            fields: fields.clone(),
        })
        .await
        .unwrap();

    // Client B's template, campaign and account, each through a request naming client A.
    let refused = [
        api.save_template(SaveTemplate {
            workspace_id: a,
            id: Some(template_b.id),
            name: "Taken over".into(),
            subject: "Hi".into(),
            body: "Hello".into(),
        })
        .await
        .map(|_| ()),
        api.save_campaign(SaveCampaign {
            workspace_id: a,
            id: Some(campaign_b.id),
            fields: CampaignFields {
                account_id: Some(account_a.id),
                ..fields.clone()
            },
        })
        .await
        .map(|_| ()),
        api.save_account(save_account(a, Some(account_b.id), "Taken over"))
            .await
            .map(|_| ()),
    ];
    for (what, r) in ["template", "campaign", "sender account"]
        .iter()
        .zip(refused)
    {
        let err = r.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{what}: {err:?}");
        assert!(
            err.message.contains("belongs to another workspace"),
            "{what}: {err:?}"
        );
    }
    let scope = WorkspaceRef { workspace_id: b };
    assert_eq!(
        api.list_templates(scope.clone()).await.unwrap()[0].name,
        "B intro"
    );
    let campaign = api
        .get_campaign(CampaignRef {
            campaign_id: campaign_b.id,
        })
        .await
        .unwrap();
    assert_eq!(campaign.fields.account_id, Some(account_b.id));
    assert_eq!(
        api.list_accounts(scope).await.unwrap()[0].fields.name,
        "B relay"
    );
}

#[tokio::test]
async fn a_template_being_written_is_kept_for_its_workspace_until_it_is_saved() {
    use outreach_api::{KeepTemplateDraft, TemplateDraftRef};
    let dir = tempfile::tempdir().unwrap();
    let api = api(&dir).await;
    let a = workspace(&api, "Client A").await;
    let b = workspace(&api, "Client B").await;
    let keep = |ws: i64, template_id: Option<i64>, subject: &str| KeepTemplateDraft {
        workspace_id: ws,
        template_id,
        name: "Intro".into(),
        subject: subject.into(),
        body: "Hi {{ first_name }}".into(),
    };
    let at = |ws: i64, template_id: Option<i64>| TemplateDraftRef {
        workspace_id: ws,
        template_id,
    };

    // A new template, typed and then saved: what was kept is forgotten.
    api.keep_template_draft(keep(a, None, "Hello"))
        .await
        .unwrap();
    assert!(api.template_draft(at(b, None)).await.unwrap().is_none());
    let saved = api
        .save_template(SaveTemplate {
            workspace_id: a,
            id: None,
            name: "Intro".into(),
            subject: "Hello".into(),
            body: "Hi {{ first_name }}".into(),
        })
        .await
        .unwrap();
    assert!(api.template_draft(at(a, None)).await.unwrap().is_none());

    // Its edits are kept for it alone, never through another workspace.
    let err = api
        .keep_template_draft(keep(b, Some(saved.item.id), "Hijacked"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound, "{err:?}");
    api.keep_template_draft(keep(a, Some(saved.item.id), "Hello again"))
        .await
        .unwrap();
    assert!(
        api.template_draft(at(b, Some(saved.item.id)))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        api.template_draft(at(a, Some(saved.item.id)))
            .await
            .unwrap()
            .map(|d| d.subject),
        Some("Hello again".into())
    );
    // Given up, then typed again and saved.
    assert!(
        api.discard_template_draft(at(a, Some(saved.item.id)))
            .await
            .unwrap()
    );
    api.keep_template_draft(keep(a, Some(saved.item.id), "Hello there"))
        .await
        .unwrap();
    api.save_template(SaveTemplate {
        workspace_id: a,
        id: Some(saved.item.id),
        name: "Intro".into(),
        subject: "Hello there".into(),
        body: "Hi {{ first_name }}".into(),
    })
    .await
    .unwrap();
    assert!(
        !api.discard_template_draft(at(a, Some(saved.item.id)))
            .await
            .unwrap(),
        "saving forgot it"
    );
    api.close().await;
}
