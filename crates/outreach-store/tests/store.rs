//! Store behaviour on a real encrypted SQLite file.
// Test helpers fail the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use outreach_core::mapping::SourceType;
use outreach_core::prospect::ProspectStatus;
use outreach_discovery::csv_source::{preview, read_rows};
use outreach_store::audit::AuditFilter;
use outreach_store::import::{ImportBatch, ImportReport};
use outreach_store::key::DbKey;
use outreach_store::prospects::{ProspectPatch, ProspectQuery, SortField};
use outreach_store::workspaces::WorkspaceFields;
use outreach_store::{Actor, Store, StoreError};

async fn open() -> (Store, i64, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("o.db"), &DbKey::generate())
        .await
        .unwrap();
    let ws = new_workspace(&store, "Acme").await;
    (store, ws, dir)
}

/// A new workspace named `name`; returns its id.
async fn new_workspace(store: &Store, name: &str) -> i64 {
    store
        .create_workspace(
            &WorkspaceFields {
                name: name.into(),
                ..Default::default()
            },
            Actor::Cli,
        )
        .await
        .unwrap()
        .id
}

async fn import(store: &Store, ws: i64, csv: &str) -> Result<ImportReport, StoreError> {
    let p = preview(csv.as_bytes(), 3).unwrap();
    let out = read_rows(csv.as_bytes(), &p.columns, |_| {}).unwrap();
    store
        .import_prospects(
            ImportBatch {
                workspace_id: ws,
                file_name: "list.csv",
                source_type: p.source_type,
                mapping: &p.columns,
                valid: out.valid,
                invalid: out.invalid,
                total_rows: out.total_rows,
                actor: Actor::Cli,
            },
            |_, _| {},
        )
        .await
}

/// The ids of a workspace's live prospects, in the default order.
async fn prospect_ids(store: &Store, ws: i64) -> Vec<i64> {
    store
        .list_prospects(&query(ws))
        .await
        .unwrap()
        .rows
        .iter()
        .map(|p| p.id)
        .collect()
}

/// The fields of a loopback SMTP sender account, "relay".
fn relay_fields() -> outreach_core::campaign::AccountFields {
    use outreach_core::campaign::{AccountFields, SmtpSecurityMode, Transport};
    AccountFields {
        host: Some("127.0.0.1".into()),
        port: Some(2525),
        security: Some(SmtpSecurityMode::PlainLoopback),
        ..AccountFields::new("relay", Transport::Smtp, "Alex", "alex@brand.example")
    }
}

/// A loopback SMTP sender account, "relay".
async fn relay_account(store: &Store, ws: i64) -> outreach_core::campaign::SenderAccount {
    store
        .create_account(ws, &relay_fields(), Actor::Cli)
        .await
        .unwrap()
}

fn query(ws: i64) -> ProspectQuery {
    ProspectQuery {
        workspace_id: ws,
        limit: 100,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_database_file_holds_no_plaintext_and_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    {
        let store = Store::open(&path, &key).await.unwrap();
        let ws = new_workspace(&store, "Zebra Secret Client").await;
        import(
            &store,
            ws,
            "email,company\nplaintext-probe@acme.example,Probe Corp\n",
        )
        .await
        .unwrap();
        store.close().await;
    }
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("o.db-wal")) {
        bytes.extend(wal);
    }
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains("plaintext-probe"));
    assert!(!hay.contains("Zebra Secret"));
    assert!(!hay.contains("SQLite format 3"));

    let err = Store::open(&path, &DbKey::generate()).await.unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "{err:?}");
    let store = Store::open(&path, &key).await.unwrap();
    assert_eq!(
        store.list_workspaces().await.unwrap()[0].name,
        "Zebra Secret Client"
    );
    store.close().await;
}

#[tokio::test]
async fn import_dedupes_by_email_handle_and_profile_and_merges_missing_values() {
    let (store, ws, _dir) = open().await;
    let first = import(
        &store,
        ws,
        "name,email,twitter,linkedin,company\n\
         Ann Lee,Ann@Acme.example,,,\n\
         Bob Ray,,@bobray,,Ray Inc\n\
         Cy Dee,,,linkedin.com/in/cydee,\n\
         Ann L.,ann@acme.example,@annlee,,Acme\n",
    )
    .await
    .unwrap();
    assert_eq!((first.created, first.merged, first.invalid), (3, 1, 0));

    let second = import(
        &store,
        ws,
        "name,email,twitter,linkedin,company\n\
         Robert Ray,bob@ray.example,https://x.com/BobRay,,Other Name\n\
         Cy Dee,cy@dee.example,,https://de.linkedin.com/in/CyDee/,\n\
         New Person,new@p.example,,,\n",
    )
    .await
    .unwrap();
    assert_eq!((second.created, second.merged), (1, 2));

    let page = store.list_prospects(&query(ws)).await.unwrap();
    assert_eq!(page.total, 4);
    let bob = page
        .rows
        .iter()
        .find(|p| p.x_handle.as_deref() == Some("bobray"))
        .unwrap();
    assert_eq!(bob.email.as_deref(), Some("bob@ray.example"), "gap filled");
    assert_eq!(
        bob.company.as_deref(),
        Some("Ray Inc"),
        "existing value kept"
    );
    assert_eq!(bob.first_name.as_deref(), Some("Bob"));
    let ann = page
        .rows
        .iter()
        .find(|p| p.email.as_deref() == Some("ann@acme.example"))
        .unwrap();
    assert_eq!(ann.x_handle.as_deref(), Some("annlee"));
    assert_eq!(ann.source_type, SourceType::Csv);
    assert_eq!(ann.lawful_basis, outreach_core::LawfulBasis::None);
    assert!(!ann.consent_given);
    store.close().await;
}

#[tokio::test]
async fn unknown_columns_become_custom_fields_and_a_reimport_only_fills_their_gaps() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email,Last Post,niche\n\
         ann@acme.example,\"Ten tents, tested\",\n\
         bob@ray.example,,\n",
    )
    .await
    .unwrap();
    let second = import(
        &store,
        ws,
        "email,last post,Niche,commission\n\
         ann@acme.example,Changed title,outdoor,15\n\
         bob@ray.example,,,\n",
    )
    .await
    .unwrap();
    assert_eq!(second.merged, 2);
    let page = store.list_prospects(&query(ws)).await.unwrap();
    let ann = page
        .rows
        .iter()
        .find(|p| p.email.as_deref() == Some("ann@acme.example"))
        .unwrap();
    let fields: Vec<(&str, &str)> = ann
        .custom_fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("commission", "15"),
            ("last_post", "Ten tents, tested"),
            ("niche", "outdoor")
        ],
        "the first value is kept, gaps are filled"
    );
    let bob = page
        .rows
        .iter()
        .find(|p| p.email.as_deref() == Some("bob@ray.example"))
        .unwrap();
    assert!(bob.custom_fields.is_empty(), "{:?}", bob.custom_fields);
    store.close().await;
}

#[tokio::test]
async fn a_merge_never_steals_another_prospects_key() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email,twitter\na@x.example,\nb@x.example,@bee\n",
    )
    .await
    .unwrap();
    // This row is a@x (by e-mail) but claims b's handle: a gets no handle, nothing fails.
    let r = import(&store, ws, "email,twitter\na@x.example,@bee\n")
        .await
        .unwrap();
    assert_eq!(r.merged, 1);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    let page = store.list_prospects(&query(ws)).await.unwrap();
    let a = page
        .rows
        .iter()
        .find(|p| p.email.as_deref() == Some("a@x.example"))
        .unwrap();
    assert_eq!(a.x_handle, None);
    store.close().await;
}

#[tokio::test]
async fn invalid_rows_are_reported_and_kept_for_export() {
    let (store, ws, _dir) = open().await;
    let r = import(
        &store,
        ws,
        "email,followers\ngood@x.example,10\nbad,10\nok@x.example,lots\n",
    )
    .await
    .unwrap();
    assert_eq!((r.created, r.invalid), (1, 2));
    let again = store.import_row_errors(r.import_id).await.unwrap();
    assert_eq!(again, r.row_errors);
    assert_eq!(again[0].row, 3);
    let log = store
        .audit_log(ws, &AuditFilter::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(log[0].action, "prospects.import");
    assert!(log[0].summary.contains("1 new"), "{}", log[0].summary);
    store.close().await;
}

#[tokio::test]
async fn import_into_a_missing_workspace_changes_nothing() {
    let (store, ws, _dir) = open().await;
    let err = import(&store, ws + 99, "email\na@x.example\n")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert_eq!(store.facets(ws).await.unwrap().total, 0);
    store.close().await;
}

#[tokio::test]
async fn search_finds_titles_handles_profiles_and_custom_field_values() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "name,email,title,twitter,linkedin,niche\n\
         Zoe Adams,zoe@a.example,Managing Editor,@zoe_writes,https://www.linkedin.com/in/zoe-adams-42,pottery\n\
         Yann Brown,yann@b.example,Founder,@yannb,,fitness\n",
    )
    .await
    .unwrap();
    let found = |search: &str| {
        let store = store.clone();
        let search = search.to_string();
        async move {
            let mut q = query(ws);
            q.search = Some(search);
            let page = store.list_prospects(&q).await.unwrap();
            page.rows
                .iter()
                .map(|p| p.first_name.clone().unwrap())
                .collect::<Vec<_>>()
        }
    };
    for (search, expect) in [
        ("editor", vec!["Zoe"]),
        ("found", vec!["Yann"]),
        ("zoe_writes", vec!["Zoe"]),
        ("yannb", vec!["Yann"]),
        ("zoe-adams-42", vec!["Zoe"]),
        ("pottery", vec!["Zoe"]),
        ("fit", vec!["Yann"]),
        // A custom field's name is on every row it came with: only values are searched.
        ("niche", vec![]),
    ] {
        assert_eq!(found(search).await, expect, "search {search}");
    }

    // An edit moves the prospect in the index: the old title is gone, the new one found.
    let zoe = found("editor").await;
    assert_eq!(zoe, vec!["Zoe"]);
    let id = store.list_prospects(&query(ws)).await.unwrap().rows[0].id;
    store
        .update_prospect(
            id,
            &ProspectPatch {
                title: Some("Head of Partnerships".into()),
                ..Default::default()
            },
            Actor::App,
        )
        .await
        .unwrap();
    assert!(found("editor").await.is_empty());
    assert_eq!(found("partnerships").await, vec!["Zoe"]);

    // A re-import that fills a custom field's gap makes its value searchable.
    import(
        &store,
        ws,
        "email,niche,last post\nyann@b.example,,Ten tents tested\n",
    )
    .await
    .unwrap();
    assert_eq!(found("tents").await, vec!["Yann"]);
    assert_eq!(found("fitness").await, vec!["Yann"], "kept");
    // As every test here: a pool dropped instead closes on its threads while the process
    // exits, and SQLCipher's exit handler frees what they use (a SIGSEGV, seen in CI).
    store.close().await;
}

#[tokio::test]
async fn list_filters_sorts_searches_and_pages() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "name,email,company,country,notes,website\n\
         Zoe Adams,zoe@a.example,Alpha Gmbh,Germany,likes pottery,https://alpha.example\n\
         Yann Brown,yann@b.example,Beta SARL,France,,beta.example\n\
         Xavier Clark,xavier@c.example,Gamma Ltd,germany,affiliate network,\n",
    )
    .await
    .unwrap();
    let names = |rows: &[outreach_core::prospect::Prospect]| {
        rows.iter()
            .map(|p| p.first_name.clone().unwrap())
            .collect::<Vec<_>>()
    };
    let all = store.list_prospects(&query(ws)).await.unwrap();
    assert_eq!(
        names(&all.rows),
        vec!["Zoe", "Yann", "Xavier"],
        "by last name"
    );

    let mut q = query(ws);
    q.country = Some("GERMANY".into());
    q.sort = SortField::Company;
    q.descending = true;
    let de = store.list_prospects(&q).await.unwrap();
    assert_eq!(names(&de.rows), vec!["Xavier", "Zoe"]);

    for (search, expect) in [
        ("pott", "Zoe"),
        ("beta", "Yann"),
        ("gamma ltd", "Xavier"),
        ("xavier@c", "Xavier"),
    ] {
        let mut q = query(ws);
        q.search = Some(search.into());
        let found = store.list_prospects(&q).await.unwrap();
        assert_eq!(names(&found.rows), vec![expect], "search {search}");
    }
    let mut q = query(ws);
    q.search = Some("\"unbalanced OR".into());
    assert_eq!(store.list_prospects(&q).await.unwrap().total, 0);

    let mut q = query(ws);
    q.limit = 1;
    q.offset = 1;
    let page = store.list_prospects(&q).await.unwrap();
    assert_eq!(
        (page.total, names(&page.rows)),
        (3, vec!["Yann".to_string()])
    );

    // The whole filtered list's ids, in the list's order, whatever the page.
    let ids = |rows: &[outreach_core::prospect::Prospect]| -> Vec<i64> {
        rows.iter().map(|p| p.id).collect()
    };
    assert_eq!(
        store.matching_prospect_ids(&q).await.unwrap(),
        ids(&all.rows)
    );
    let mut q = query(ws);
    q.country = Some("GERMANY".into());
    q.sort = SortField::Company;
    q.descending = true;
    assert_eq!(
        store.matching_prospect_ids(&q).await.unwrap(),
        ids(&de.rows)
    );
    store
        .set_prospects_deleted(ws, &ids(&de.rows)[..1], false, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(
        store.matching_prospect_ids(&q).await.unwrap(),
        ids(&de.rows)[1..]
    );
    store.close().await;
}

#[tokio::test]
async fn edits_are_validated_audited_and_searchable() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email,company\na@x.example,Old Co\nb@x.example,\n",
    )
    .await
    .unwrap();
    let id = store.list_prospects(&query(ws)).await.unwrap().rows[0].id;

    let bad = ProspectPatch {
        email: Some("not an email".into()),
        company: Some("Changed".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_prospect(id, &bad, Actor::App).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.prospect(id).await.unwrap().company.as_deref(),
        Some("Old Co"),
        "nothing written"
    );

    let taken = ProspectPatch {
        email: Some("B@x.example".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_prospect(id, &taken, Actor::App).await,
        Err(StoreError::Conflict(_))
    ));

    let good = ProspectPatch {
        company: Some("Brand New Company".into()),
        followers: Some("2.5k".into()),
        status: Some(ProspectStatus::Disqualified),
        ..Default::default()
    };
    let (p, _) = store.update_prospect(id, &good, Actor::App).await.unwrap();
    assert_eq!(p.followers, Some(2500));
    assert_eq!(p.status, ProspectStatus::Disqualified);
    let mut q = query(ws);
    q.search = Some("brand new".into());
    assert_eq!(store.list_prospects(&q).await.unwrap().total, 1);
    q.search = Some("old".into());
    assert_eq!(store.list_prospects(&q).await.unwrap().total, 0);
    let log = store
        .audit_log(ws, &AuditFilter::default(), 1, None)
        .await
        .unwrap();
    assert_eq!(log[0].action, "prospect.update");
    assert!(log[0].summary.contains("company"));
    store.close().await;
}

#[tokio::test]
async fn an_opt_out_is_neither_undone_nor_imitated_by_setting_a_status() {
    use outreach_core::ProspectStatus::{New, Qualified, Unsubscribed};
    use outreach_store::consent::SuppressionEntry;
    let (store, ws, _dir) = open().await;
    import(&store, ws, "email\nada@x.example\nbob@x.example\n")
        .await
        .unwrap();
    let [ada, bob] = prospect_ids(&store, ws).await[..] else {
        panic!("two prospects");
    };
    let hash = SuppressionEntry {
        hash: "hash-of-ada".into(),
        kind: "email",
    };
    store
        .opt_out(
            ada,
            std::slice::from_ref(&hash),
            "asked by phone",
            Actor::App,
        )
        .await
        .unwrap();
    let to = |status| ProspectPatch {
        status: Some(status),
        ..Default::default()
    };
    let entry_count = || async {
        store
            .audit_log(ws, &AuditFilter::default(), 100, None)
            .await
            .unwrap()
            .len()
    };
    let entries = entry_count().await;

    // She opted out: her status stays, by hand or in bulk.
    let err = store
        .update_prospect(ada, &to(Qualified), Actor::App)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("opted out")),
        "{err:?}"
    );
    assert_eq!(store.prospect(ada).await.unwrap().status, Unsubscribed);
    // He did not: "unsubscribed" set by hand would look like an opt-out without being one.
    let err = store
        .update_prospect(bob, &to(Unsubscribed), Actor::App)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("opt them out")),
        "{err:?}"
    );
    let err = store
        .set_prospects_status(ws, &[ada, bob], Unsubscribed, Actor::App)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(store.prospect(bob).await.unwrap().status, New);
    assert_eq!(entry_count().await, entries, "nothing changed");

    let done = store
        .set_prospects_status(ws, &[ada, bob], Qualified, Actor::App)
        .await
        .unwrap();
    assert_eq!(done.changed.iter().map(|b| b.id).collect::<Vec<_>>(), [bob]);
    assert_eq!(done.opted_out, [ada]);
    assert_eq!(store.prospect(ada).await.unwrap().status, Unsubscribed);
    assert_eq!(store.prospect(bob).await.unwrap().status, Qualified);
    store.close().await;
}

#[tokio::test]
async fn a_bulk_status_leaves_the_trash_alone_and_says_what_each_had() {
    use outreach_core::ProspectStatus::{Disqualified, New};
    let (store, ws, _dir) = open().await;
    import(&store, ws, "email\na@x.example\nb@x.example\nc@x.example\n")
        .await
        .unwrap();
    let ids = prospect_ids(&store, ws).await;
    store
        .set_prospects_deleted(ws, &ids[2..], false, Actor::App)
        .await
        .unwrap();
    let before = store
        .set_prospects_status(ws, &ids, Disqualified, Actor::App)
        .await
        .unwrap()
        .changed;
    let changed: Vec<i64> = before.iter().map(|b| b.id).collect();
    let mut live = ids[..2].to_vec();
    live.sort_unstable();
    assert_eq!(changed, live, "the trashed one is left alone");
    assert!(before.iter().all(|b| b.status == New));
    assert_eq!(store.prospect(ids[2]).await.unwrap().status, New);
    // Again: nothing to change, nothing audited.
    assert!(
        store
            .set_prospects_status(ws, &ids, Disqualified, Actor::App)
            .await
            .unwrap()
            .changed
            .is_empty()
    );
    assert_eq!(audited(&store, ws, "prospects.status").await.len(), 1);
    // The entry is about each changed prospect.
    for id in &live {
        let about = store
            .audit_log(
                ws,
                &AuditFilter {
                    prospect_id: Some(*id),
                    ..Default::default()
                },
                10,
                None,
            )
            .await
            .unwrap();
        assert!(
            about.iter().any(|e| e.action == "prospects.status"),
            "#{id}"
        );
    }
    store.close().await;
}

#[tokio::test]
async fn soft_delete_hides_and_restore_brings_back() {
    let (store, ws, _dir) = open().await;
    import(&store, ws, "email\na@x.example\nb@x.example\n")
        .await
        .unwrap();
    let ids: Vec<i64> = prospect_ids(&store, ws).await;
    assert_eq!(
        store
            .set_prospects_deleted(ws, &ids[..1], false, Actor::App)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.list_prospects(&query(ws)).await.unwrap().total, 1);
    let mut trash = query(ws);
    trash.deleted = true;
    assert_eq!(store.list_prospects(&trash).await.unwrap().total, 1);
    // Re-importing a deleted prospect merges into it and leaves it deleted.
    let r = import(&store, ws, "email\na@x.example\n").await.unwrap();
    assert_eq!((r.created, r.matched_deleted), (0, 1));
    assert_eq!(
        store
            .set_prospects_deleted(ws, &ids[..1], true, Actor::App)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.list_prospects(&query(ws)).await.unwrap().total, 2);
    let actions: Vec<String> = store
        .audit_log(ws, &AuditFilter::default(), 10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"prospect.delete".to_string()));
    assert!(actions.contains(&"prospect.restore".to_string()));
    store.close().await;
}

/// Regression: writes on several pool connections at once used to fail at once with "database
/// is locked" (a deferred transaction cannot wait for a write lock), instead of waiting their
/// turn, right after a failed edit had rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_wait_their_turn_instead_of_failing() {
    let (store, ws, _dir) = open().await;
    let csv: String = std::iter::once("email".to_string())
        .chain((0..40).map(|i| format!("p{i}@x.example")))
        .collect::<Vec<_>>()
        .join("\n");
    import(&store, ws, &csv).await.unwrap();
    let mut q = query(ws);
    q.limit = 100;
    let ids: Vec<i64> = store
        .list_prospects(&q)
        .await
        .unwrap()
        .rows
        .iter()
        .map(|p| p.id)
        .collect();
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Every other task first fails on a taken address, leaving a rollback behind.
            if n % 2 == 0 {
                let taken = ProspectPatch {
                    email: Some("p0@x.example".into()),
                    ..Default::default()
                };
                let _ = store.update_prospect(id, &taken, Actor::App).await;
            }
            let patch = ProspectPatch {
                company: Some(format!("Company {n}")),
                ..Default::default()
            };
            store
                .update_prospect(id, &patch, Actor::App)
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every edit lands");
    }
    let mut q = query(ws);
    q.search = Some("company".into());
    assert_eq!(store.list_prospects(&q).await.unwrap().total, 40);
    store.close().await;
}

#[tokio::test]
async fn a_backup_is_encrypted_with_the_same_key_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    let store = Store::open(&path, &key).await.unwrap();
    let ws = new_workspace(&store, "Backed Up").await;
    import(&store, ws, "email\nbackup-probe@x.example\n")
        .await
        .unwrap();
    let copy = dir.path().join("o.db.before-99");
    store.backup(&copy).await.unwrap();
    assert!(
        matches!(store.backup(&copy).await, Err(StoreError::Conflict(_))),
        "a backup never overwrites a file"
    );
    store.close().await;

    let bytes = std::fs::read(&copy).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("backup-probe"),
        "the copy is encrypted"
    );
    assert!(matches!(
        Store::open(&copy, &DbKey::generate()).await,
        Err(StoreError::WrongKey)
    ));
    let restored = Store::open(&copy, &key).await.unwrap();
    assert_eq!(
        restored.list_workspaces().await.unwrap()[0].name,
        "Backed Up"
    );
    assert_eq!(
        restored.facets(ws).await.unwrap().total,
        1,
        "rows still in the WAL are in the copy"
    );
    restored.close().await;
}

/// Regression: an edit read the prospect before its write transaction and wrote the whole
/// row back, so two edits of different fields at the same moment could undo one another.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_edits_of_different_fields_all_land() {
    let (store, ws, _dir) = open().await;
    import(&store, ws, "email\nshared@x.example\n")
        .await
        .unwrap();
    let id = store.list_prospects(&query(ws)).await.unwrap().rows[0].id;
    for round in 0..5 {
        let patches: Vec<ProspectPatch> = vec![
            ProspectPatch {
                company: Some(format!("Company {round}")),
                ..Default::default()
            },
            ProspectPatch {
                title: Some(format!("Title {round}")),
                ..Default::default()
            },
            ProspectPatch {
                country: Some(format!("Country {round}")),
                ..Default::default()
            },
            ProspectPatch {
                notes: Some(format!("Notes {round}")),
                ..Default::default()
            },
            ProspectPatch {
                first_name: Some(format!("First {round}")),
                ..Default::default()
            },
            ProspectPatch {
                last_name: Some(format!("Last {round}")),
                ..Default::default()
            },
            ProspectPatch {
                followers: Some(format!("{round}00")),
                ..Default::default()
            },
            ProspectPatch {
                website: Some(format!("https://site{round}.example")),
                ..Default::default()
            },
        ];
        let tasks: Vec<_> = patches
            .into_iter()
            .map(|patch| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .update_prospect(id, &patch, Actor::App)
                        .await
                        .map(|_| ())
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let p = store.prospect(id).await.unwrap();
        let expected = (
            format!("Company {round}"),
            format!("Title {round}"),
            format!("Country {round}"),
            format!("Notes {round}"),
            format!("First {round}"),
            format!("Last {round}"),
            round * 100,
        );
        let got = (
            p.company.unwrap_or_default(),
            p.title.unwrap_or_default(),
            p.country.unwrap_or_default(),
            p.notes.unwrap_or_default(),
            p.first_name.unwrap_or_default(),
            p.last_name.unwrap_or_default(),
            p.followers.unwrap_or_default(),
        );
        assert_eq!(got, expected, "round {round}: an edit was lost");
        assert_eq!(
            p.website.unwrap_or_default(),
            format!("https://site{round}.example")
        );
    }
    store.close().await;
}

#[tokio::test]
async fn a_ramp_up_from_nothing_or_by_nothing_is_refused_and_nothing_is_saved() {
    let (store, ws, _dir) = open().await;
    for (start, increase, says) in [
        (None, Some(5), "needs a first-day amount"),
        (Some(0), Some(5), "first day's amount must be at least 1"),
        (Some(10), Some(0), "daily increase must be at least 1"),
    ] {
        let fields = outreach_core::campaign::AccountFields {
            ramp_start: start,
            ramp_increase: increase,
            ..relay_fields()
        };
        let err = store.create_account(ws, &fields, Actor::Cli).await;
        assert!(
            matches!(&err, Err(StoreError::Invalid(m)) if m.contains(says)),
            "{start:?}/{increase:?}: {err:?}"
        );
    }
    assert!(store.list_accounts(ws).await.unwrap().is_empty());
    // A ramp that starts somewhere is fine, with or without a daily increase.
    let fields = outreach_core::campaign::AccountFields {
        ramp_start: Some(10),
        ..relay_fields()
    };
    let saved = store.create_account(ws, &fields, Actor::Cli).await.unwrap();
    assert_eq!(saved.fields.ramp_start, Some(10));
    store.close().await;
}

/// A one-step campaign "Launch", open all Monday, without caps or gaps.
async fn launch(
    store: &Store,
    ws: i64,
    account_id: i64,
    template_id: i64,
) -> outreach_core::campaign::Campaign {
    use outreach_core::campaign::{CampaignFields, Step, StepCondition};
    use outreach_core::schedule::{SendWindow, Weekday};
    store
        .create_campaign(
            ws,
            &CampaignFields {
                name: "Launch".into(),
                account_id: Some(account_id),
                window: SendWindow {
                    days: vec![Weekday::Mon],
                    start_minute: 0,
                    end_minute: 1440,
                },
                daily_cap: None,
                min_gap_seconds: 0,
                max_gap_seconds: 0,
                steps: vec![Step {
                    delay_business_days: 0,
                    condition: StepCondition::Always,
                    template_ids: vec![template_id],
                }],
                positive_follow_up: Default::default(),
            },
            Actor::Cli,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_step_is_enqueued_once_however_often_it_is_offered() {
    use outreach_core::campaign::{CampaignStatus, MessageStatus};
    use outreach_store::outbox::NewMessage;

    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email,first_name\nada@engines.example,Ada\nalan@bletchley.example,Alan\n",
    )
    .await
    .unwrap();
    let account = relay_account(&store, ws).await;
    let template = store
        .create_template(ws, "first", "Hi", "Hello {{ first_name }}", Actor::Cli)
        .await
        .unwrap();
    let campaign = launch(&store, ws, account.id, template.id).await;
    let ids: Vec<i64> = prospect_ids(&store, ws).await;
    assert_eq!(store.enrol(campaign.id, &ids, Actor::Cli).await.unwrap(), 2);
    store
        .set_campaign_status(campaign.id, CampaignStatus::Running, Actor::Cli)
        .await
        .unwrap();
    let due = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
    let messages = |attempt: u32| -> Vec<NewMessage> {
        due.iter()
            .map(|e| NewMessage {
                workspace_id: ws,
                campaign_id: campaign.id,
                enrollment_id: e.id,
                step_position: e.next_position,
                prospect_id: e.prospect_id,
                account_id: account.id,
                variant: e.variant.clone(),
                message_id: format!("m{}-{attempt}@brand.example", e.id),
                to_address: format!("p{}@example.com", e.prospect_id),
                to_name: (e.id % 2 == 0).then(|| "Ada Lovelace".to_owned()),
                subject: "Hi".into(),
                body: format!("Hello, rendered at attempt {attempt}"),
                unsubscribe_token: format!("t{}", e.id),
                due_at: "2026-11-25T10:00:00Z".into(),
                template_id: template.id,
                template_changed_at: template.updated_at.clone(),
            })
            .collect()
    };
    assert_eq!(store.enqueue(&messages(1)).await.unwrap(), 2);
    // The same steps again (a crash between render and record, say): nothing is added.
    assert_eq!(store.enqueue(&messages(2)).await.unwrap(), 0);
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|m| m.due_at == "2026-11-25T10:00:00Z"));
    assert_eq!(store.queued_count().await.unwrap(), 2);
    // Their enrolments wait for the send; none is due again.
    assert!(
        store
            .due_enrollments("2999-01-01T00:00:00Z", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.enqueue(&[]).await.unwrap(), 0);

    // An answer to a reply, queued an hour after the steps, is claimed before them: a person
    // waits for it.
    let ada = ids[0];
    let reply = question_from(&store, ws, account.id, ada).await;
    let draft = store.open_draft(reply).await.unwrap();
    let answer = store
        .queue_draft(
            draft.id,
            &answer_message(account.id, 1, "2026-11-25T11:00:00Z"),
            Actor::Cli,
        )
        .await
        .unwrap()
        .outbox_id
        .unwrap();
    let claimable = |limit| store.claim_candidates(account.id, "2999-01-01T00:00:00Z", limit);
    let first: Vec<i64> = claimable(1)
        .await
        .unwrap()
        .iter()
        .map(|c| c.message_id)
        .collect();
    assert_eq!(first, vec![answer]);
    let all = claimable(10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!((all[0].message_id, all[0].campaign_id), (answer, None));
    let steps: Vec<i64> = listed.iter().rev().map(|m| m.id).collect();
    assert_eq!(
        all[1..].iter().map(|c| c.message_id).collect::<Vec<_>>(),
        steps,
        "then the steps, oldest first"
    );
    assert!(all[1..].iter().all(|c| c.campaign_id == Some(campaign.id)));

    // The sender's steady state: one batch recorded and the next claimed in one transaction.
    let (claimed_at, recorded_at) = ("2026-11-25T12:00:00.000Z", "2026-11-25T12:00:01.000Z");
    let first = store
        .claim_batch(&steps[..1], account.id, claimed_at, &[])
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // With the body it was first queued with, not the second offer's.
    assert_eq!(first[0].body, "Hello, rendered at attempt 1");
    let sent = [(
        &first[0],
        &outreach_store::outbox::Outcome::Sent {
            response: "250 2.0.0 Ok".into(),
        },
    )];
    let next = store
        .record_and_claim(account.id, claimed_at, &sent, recorded_at, &steps[1..], &[])
        .await
        .unwrap();
    assert_eq!(next.iter().map(|m| m.id).collect::<Vec<_>>(), steps[1..]);
    assert_eq!(next[0].body, "Hello, rendered at attempt 1");
    let status = |id: i64, listed: &[outreach_store::outbox::MessageSummary]| {
        listed.iter().find(|m| m.id == id).map(|m| m.status)
    };
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(status(steps[0], &listed), Some(MessageStatus::Sent));
    assert_eq!(status(steps[1], &listed), Some(MessageStatus::Sending));
    // Each is counted once by the governor: the sent one when it went, the next from its claim.
    assert_eq!(
        store
            .account_attempts(account.id, "2026-01-01T00:00:00Z", 10)
            .await
            .unwrap(),
        [recorded_at, recorded_at]
    );
    // A paused campaign's steps wait; the answer still goes.
    store
        .set_campaign_status(campaign.id, CampaignStatus::Paused, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(claimable(10).await.unwrap().len(), 1);
    // Closed before the process exits, as every test here does: SQLCipher's connections must
    // not be torn down while the process is ending (that aborted a CI run with a double free).
    store.close().await;
}

/// Ada's question "What do you pay?" as the poller stores it, with a prepared draft; returns
/// the reply's id.
async fn question_from(store: &Store, ws: i64, account_id: i64, ada: i64) -> i64 {
    use outreach_core::reply::Intent;
    use outreach_store::replies::Effect;
    let from = Sender {
        prospect_id: ada,
        address: "ada@engines.example",
        name: "Ada",
    };
    reply_from(
        store,
        ws,
        account_id,
        &from,
        ("q1@engines.example", 1, "2026-11-25T10:00:00Z"),
        ("What do you pay?", Intent::Question),
        &[Effect::Draft {
            subject: "Re: A partnership".into(),
            body: "Thanks for your question.".into(),
        }],
    )
    .await
}

/// Who a reply in these tests comes from.
struct Sender<'a> {
    prospect_id: i64,
    address: &'a str,
    name: &'a str,
}

/// A human reply as the poller stores it, with its effects; `(rfc_id, uid)` identify it in the
/// mailbox, where it arrived at `received_at`. Returns the reply's id.
async fn reply_from(
    store: &Store,
    ws: i64,
    account_id: i64,
    from: &Sender<'_>,
    (rfc_id, uid, received_at): (&str, u32, &str),
    (text, intent): (&str, outreach_core::reply::Intent),
    effects: &[outreach_store::replies::Effect],
) -> i64 {
    use outreach_core::inbox::ReplyKind;
    use outreach_store::replies::{Matched, NewReply};
    let stored = store
        .record_reply(
            &NewReply {
                account_id,
                matched: Matched {
                    prospect_id: from.prospect_id,
                    workspace_id: ws,
                    message_row: None,
                    campaign_id: None,
                    email: Some(from.address.into()),
                },
                matched_by: "sender".into(),
                rfc_message_id: Some(rfc_id.into()),
                imap_uid: uid,
                from_address: Some(from.address.into()),
                from_name: Some(from.name.into()),
                subject: "Re: A partnership".into(),
                received_at: received_at.into(),
                kind: ReplyKind::Human,
                new_text: text.into(),
                full_text: text.into(),
                html: None,
                sentiment: Some(0.0),
                intent,
                confidence: 0.9,
                intent_source: "rules".into(),
                return_date: None,
                bounce_status: None,
                bounce_diagnostic: None,
                needs_reply: true,
            },
            effects,
            1,
        )
        .await
        .unwrap()
        .unwrap();
    stored.reply_id
}

/// A new database where Ada (first name and address) asked a question through the relay
/// account.
struct Asked {
    store: Store,
    ws: i64,
    _dir: tempfile::TempDir,
    ada: i64,
    account: outreach_core::campaign::SenderAccount,
    reply: i64,
}

async fn ada_asked() -> Asked {
    let (store, ws, _dir) = open().await;
    import(&store, ws, "email,first_name\nada@engines.example,Ada\n")
        .await
        .unwrap();
    let ada = prospect_ids(&store, ws).await[0];
    let account = relay_account(&store, ws).await;
    let reply = question_from(&store, ws, account.id, ada).await;
    Asked {
        store,
        ws,
        _dir,
        ada,
        account,
        reply,
    }
}

/// An answer to Ada's question from `account_id` as the outbox gets it, due at `due_at`.
fn answer_message(account_id: i64, n: u32, due_at: &str) -> outreach_store::drafts::AnswerMessage {
    outreach_store::drafts::AnswerMessage {
        account_id,
        message_id: format!("a{n}@brand.example"),
        to_address: "ada@engines.example".into(),
        to_name: Some("Ada".into()),
        subject: "Re: A partnership".into(),
        body: "We pay 20%.\n\n-- \nopt out\n".into(),
        unsubscribe_token: "t1".into(),
        due_at: due_at.into(),
        in_reply_to: Some("q1@engines.example".into()),
    }
}

#[tokio::test]
async fn an_answer_to_someone_moved_to_the_trash_goes_back_to_the_drafts() {
    use outreach_core::inbox::DraftState;
    use outreach_core::reply::Intent;
    use outreach_store::replies::Effect;

    let Asked {
        store,
        ws,
        _dir,
        ada,
        account,
        reply,
    } = ada_asked().await;
    let draft = store.open_draft(reply).await.unwrap();
    let message = |n: u32| answer_message(account.id, n, "2026-11-25T10:00:00Z");
    store
        .queue_draft(draft.id, &message(1), Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.queued_count().await.unwrap(), 1);

    // Ada goes to the trash: nothing goes out to her, and what was written is kept.
    store
        .set_prospects_deleted(ws, &[ada], false, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.queued_count().await.unwrap(), 0);
    let back = store.reply_draft(draft.id).await.unwrap();
    assert_eq!(back.state, DraftState::Draft);
    assert_eq!(
        (back.outbox_id, back.body.as_str()),
        (None, message(1).body.as_str())
    );
    assert!(store.reply(reply).await.unwrap().needs_reply);
    let said = last_summary(&store, ws, "prospect.delete").await;
    assert!(
        said.ends_with("; 1 queued answer(s) back to drafts"),
        "{said}"
    );

    // An answer the gate checked before she went to the trash is refused by the write.
    let refused = store.queue_draft(draft.id, &message(2), Actor::Cli).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("moved to the trash")),
        "{refused:?}"
    );
    // So is a positive follow-up the engine prepared meanwhile: it waits as a draft.
    let mut follow_up = message(3);
    follow_up.subject = "Re: Next steps".into();
    let from = Sender {
        prospect_id: ada,
        address: "ada@engines.example",
        name: "Ada",
    };
    let positive = reply_from(
        &store,
        ws,
        account.id,
        &from,
        ("q2@engines.example", 2, "2026-11-25T11:00:00Z"),
        ("Sounds good!", Intent::Interested),
        &[Effect::Queue(follow_up)],
    )
    .await;
    let kept = store.reply_drafts(positive).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].state, kept[0].subject.as_str()),
        (DraftState::Draft, "Re: Next steps")
    );
    assert_eq!(store.queued_count().await.unwrap(), 0);

    // Restored, with a corrected address: an answer checked for the old one is refused; one
    // written for the new one goes.
    store
        .set_prospects_deleted(ws, &[ada], true, Actor::Cli)
        .await
        .unwrap();
    let patch = ProspectPatch {
        email: Some("ada@analytical.example".into()),
        ..Default::default()
    };
    store
        .update_prospect(ada, &patch, Actor::Cli)
        .await
        .unwrap();
    let refused = store.queue_draft(draft.id, &message(4), Actor::Cli).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("address changed")),
        "{refused:?}"
    );
    let mut corrected = message(5);
    corrected.to_address = "ada@analytical.example".into();
    let sent = store
        .queue_draft(draft.id, &corrected, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(sent.state, DraftState::Queued);

    // Opting out refuses what was checked before it.
    let next = store.open_draft(positive).await.unwrap();
    store
        .opt_out(ada, &[], "asked by phone", Actor::Cli)
        .await
        .unwrap();
    let mut late = message(6);
    late.to_address = "ada@analytical.example".into();
    let refused = store.queue_draft(next.id, &late, Actor::Cli).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("opted out")),
        "{refused:?}"
    );
    store.close().await;
}

#[tokio::test]
async fn an_answer_is_queued_once_and_only_a_draft_changes() {
    use outreach_core::inbox::DraftState;

    let Asked {
        store,
        ws,
        _dir,
        ada: _,
        account,
        reply,
    } = ada_asked().await;

    // Opening the answer twice gives the prepared draft both times.
    let draft = store.open_draft(reply).await.unwrap();
    assert_eq!(draft.body, "Thanks for your question.");
    assert_eq!(store.open_draft(reply).await.unwrap().id, draft.id);
    // Another account sends it only when it is a live one of this workspace; a refusal
    // changes nothing.
    let mut other = relay_fields();
    other.name = "elsewhere".into();
    let elsewhere = store
        .create_account(new_workspace(&store, "Other").await, &other, Actor::Cli)
        .await
        .unwrap();
    let refused = store
        .save_draft(draft.id, "Re: x", "x", Some(elsewhere.id))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(m)) if m.contains("another workspace")),
        "{refused:?}"
    );
    other.name = "old".into();
    let old = store.create_account(ws, &other, Actor::Cli).await.unwrap();
    store.delete_account(old.id, Actor::Cli).await.unwrap();
    let refused = store.save_draft(draft.id, "Re: x", "x", Some(old.id)).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("'old' was removed")),
        "{refused:?}"
    );
    assert_eq!(store.reply_draft(draft.id).await.unwrap(), draft);
    other.name = "second".into();
    let second = store.create_account(ws, &other, Actor::Cli).await.unwrap();
    let moved = store
        .save_draft(
            draft.id,
            "Re: A partnership",
            "We pay 20%.",
            Some(second.id),
        )
        .await
        .unwrap();
    assert_eq!(moved.account_id, second.id);
    let saved = store
        .save_draft(
            draft.id,
            "Re: A partnership",
            "We pay 20%.",
            Some(account.id),
        )
        .await
        .unwrap();
    assert_eq!(saved.body, "We pay 20%.");
    assert_eq!(saved.account_id, account.id);
    // An answer written for the account the draft had before another window changed it, or
    // for one removed since, is refused and nothing is queued.
    let refused = store
        .queue_draft(
            draft.id,
            &answer_message(second.id, 9, "2026-11-25T10:00:00Z"),
            Actor::Cli,
        )
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("changed while it was being sent")),
        "{refused:?}"
    );
    store
        .save_draft(
            draft.id,
            "Re: A partnership",
            "We pay 20%.",
            Some(second.id),
        )
        .await
        .unwrap();
    store.delete_account(second.id, Actor::Cli).await.unwrap();
    let refused = store
        .queue_draft(
            draft.id,
            &answer_message(second.id, 9, "2026-11-25T10:00:00Z"),
            Actor::Cli,
        )
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("was removed")),
        "{refused:?}"
    );
    assert_eq!(store.queued_count().await.unwrap(), 0);
    store
        .save_draft(
            draft.id,
            "Re: A partnership",
            "We pay 20%.",
            Some(account.id),
        )
        .await
        .unwrap();

    let message = |n: u32| answer_message(account.id, n, "2026-11-25T10:00:00Z");
    let queued = store
        .queue_draft(draft.id, &message(1), Actor::Cli)
        .await
        .unwrap();
    assert_eq!(queued.state, DraftState::Queued);
    assert_eq!(queued.message_status.as_deref(), Some("queued"));
    assert!(!store.reply(reply).await.unwrap().needs_reply);

    // The same draft again (a double click, a retried request): refused, nothing added.
    let again = store.queue_draft(draft.id, &message(2), Actor::Cli).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let edit = store.save_draft(draft.id, "Re: x", "changed", None).await;
    assert!(matches!(edit, Err(StoreError::Conflict(_))), "{edit:?}");
    assert!(matches!(
        store.discard_draft(draft.id).await,
        Err(StoreError::Conflict(_))
    ));
    let answers = store.reply_drafts(reply).await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].body, "We pay 20%.\n\n-- \nopt out\n", "as sent");
    let in_outbox = store.queued_count().await.unwrap();
    assert_eq!(
        in_outbox, 1,
        "one message, in no campaign, waiting to go out"
    );
    assert_eq!(
        store.accounts_with_queued().await.unwrap(),
        vec![account.id]
    );

    // A new answer is a new draft, which can be thrown away.
    let next = store.open_draft(reply).await.unwrap();
    assert_ne!(next.id, draft.id);
    assert_eq!(next.subject, "Re: A partnership");
    assert_eq!(
        store.discard_draft(next.id).await.unwrap().state,
        DraftState::Discarded
    );
    assert_eq!(store.reply_drafts(reply).await.unwrap().len(), 1);
    assert!(matches!(
        store.open_draft(999).await,
        Err(StoreError::NotFound(_))
    ));
    store.close().await;
}

#[tokio::test]
async fn an_answer_that_did_not_go_out_leaves_its_reply_needing_one() {
    use outreach_core::campaign::UnconfirmedChoice;
    use outreach_store::outbox::Outcome;

    let Asked {
        store,
        ws,
        _dir,
        ada: _,
        account,
        reply,
    } = ada_asked().await;
    let now = "2026-11-25T11:00:00Z";
    // Queues a new answer and claims it, as the sender does before the SMTP exchange.
    let claim_answer = |n: u32| {
        let store = store.clone();
        async move {
            let draft = store.open_draft(reply).await.unwrap();
            store
                .queue_draft(
                    draft.id,
                    &answer_message(account.id, n, "2026-11-25T10:00:00Z"),
                    Actor::Cli,
                )
                .await
                .unwrap();
            assert!(!store.reply(reply).await.unwrap().needs_reply);
            let rows = chosen_by_sender(&store, account.id, now).await;
            let claimed = store
                .claim_batch(&rows, account.id, now, &[])
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1);
            claimed.into_iter().next().unwrap()
        }
    };

    // The server refused the answer for good: the reply still needs one.
    let refused = claim_answer(1).await;
    let outcome = Outcome::Failed {
        error: "554 rejected".into(),
    };
    store
        .record_and_claim(account.id, now, &[(&refused, &outcome)], now, &[], &[])
        .await
        .unwrap();
    assert!(
        store.reply(reply).await.unwrap().needs_reply,
        "after a refusal"
    );

    // Unknown after a crash, and cancelled by the person: the same.
    let cancelled = claim_answer(2).await;
    assert_eq!(store.recover_interrupted().await.unwrap(), 1);
    let n = store
        .resolve_unconfirmed(ws, &[cancelled.id], UnconfirmedChoice::Cancel, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        store.reply(reply).await.unwrap().needs_reply,
        "after a cancel"
    );

    // Marked as sent, it answered the reply.
    let kept = claim_answer(3).await;
    store.recover_interrupted().await.unwrap();
    store
        .resolve_unconfirmed(ws, &[kept.id], UnconfirmedChoice::MarkSent, Actor::Cli)
        .await
        .unwrap();
    assert!(
        !store.reply(reply).await.unwrap().needs_reply,
        "after mark-sent"
    );
    store.close().await;
}

/// A new encrypted database (its folder, path, key and a connection) migrated up to
/// `version` only: what an earlier release left behind, for the upgrade tests.
async fn database_at(
    version: i64,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    DbKey,
    sqlx::SqliteConnection,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    let mut old = raw_connection(&path, &key).await;
    sqlx::migrate!("../../migrations")
        .run_to(version, &mut old)
        .await
        .unwrap();
    (dir, path, key, old)
}

/// One connection to the encrypted database at `path` (created if missing), outside the store:
/// to build what an earlier release left, or to try what the store never does.
async fn raw_connection(path: &std::path::Path, key: &DbKey) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .pragma("key", format!("\"x'{}'\"", key.expose_hex()))
        .connect()
        .await
        .unwrap()
}

/// The schema before message bodies moved to their own table.
const BEFORE_MESSAGE_BODIES: i64 = 20261129000000;

#[tokio::test]
async fn an_upgrade_keeps_every_queued_message_with_its_body_and_a_backup() {
    use sqlx::Connection;
    // A database as the previous version left it: one answer queued, its body in its row.
    let (_dir, path, key, mut old) = database_at(BEFORE_MESSAGE_BODIES).await;
    for statement in [
        "INSERT INTO workspaces (id, name) VALUES (1, 'Acme')",
        "INSERT INTO prospects (id, workspace_id, email, source_type, collected_at)
         VALUES (1, 1, 'ada@engines.example', 'csv', '2026-11-30T09:00:00.000Z')",
        "INSERT INTO sender_accounts (id, workspace_id, name, transport, host, port, security,
             from_name, from_address)
         VALUES (1, 1, 'relay', 'smtp', '127.0.0.1', 2525, 'plain_loopback', 'Acme',
             'partners@acme.example')",
        "INSERT INTO messages (id, workspace_id, prospect_id, account_id, idempotency_key,
             message_id, to_address, subject, body, unsubscribe_token, due_at)
         VALUES (7, 1, 1, 1, 'answer:1', 'a1@acme.example', 'ada@engines.example', 'Re: rates',
             'We pay 20% on every sale.', 't1', '2026-12-01T10:00:00.000Z')",
    ] {
        sqlx::query(statement).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();
    // The copy an earlier upgrade left.
    let mut earlier = path.as_os_str().to_owned();
    earlier.push(".before-20261129000000");
    std::fs::write(&earlier, b"an older copy").unwrap();

    let store = Store::open(&path, &key).await.unwrap();
    let claimed = store
        .claim_batch(&[7], 1, "2026-12-05T10:00:00.000Z", &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].body, "We pay 20% on every sale.");
    assert_eq!(claimed[0].subject, "Re: rates");
    store.close().await;
    // The upgrade kept a copy of the database as it was, named for the version it upgraded to.
    let latest = sqlx::migrate!("../../migrations")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    let mut backup = path.as_os_str().to_owned();
    backup.push(format!(".before-{latest}"));
    assert!(std::path::Path::new(&backup).exists());
    // Only the latest copy stays: people erased since would live on in the older ones.
    assert!(!std::path::Path::new(&earlier).exists());
}

/// The last migration before search covered titles, handles, profiles and custom fields.
const BEFORE_WIDER_SEARCH: i64 = 20261205000000;

#[tokio::test]
async fn an_upgrade_indexes_the_newly_searched_fields_of_existing_prospects() {
    use sqlx::Connection;
    let (_dir, path, key, mut old) = database_at(BEFORE_WIDER_SEARCH).await;
    for statement in [
        "INSERT INTO workspaces (id, name) VALUES (1, 'Acme')",
        r#"INSERT INTO prospects (id, workspace_id, first_name, email, title, x_handle,
             custom_fields, source_type, collected_at)
         VALUES (1, 1, 'Ada', 'ada@engines.example', 'Chief Analyst', '@ada_counts',
             '{"niche": "mechanics"}', 'csv', '2026-11-30T09:00:00.000Z')"#,
        "INSERT INTO prospects (id, workspace_id, first_name, email, source_type, collected_at)
         VALUES (2, 1, 'Bob', 'bob@byron.example', 'csv', '2026-11-30T09:00:00.000Z')",
    ] {
        sqlx::query(statement).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();

    let store = Store::open(&path, &key).await.unwrap();
    for search in ["analyst", "ada_counts", "mechanics", "bob"] {
        let mut q = query(1);
        q.search = Some(search.into());
        let found = store.list_prospects(&q).await.unwrap();
        let expect = if search == "bob" { 2 } else { 1 };
        assert_eq!(
            found.rows.iter().map(|p| p.id).collect::<Vec<_>>(),
            [expect],
            "search {search}"
        );
    }
    store.close().await;
}

#[tokio::test]
async fn a_step_chosen_before_its_campaign_paused_is_not_claimed() {
    use outreach_core::campaign::CampaignStatus;
    use outreach_store::outbox::NewMessage;

    let (store, ws, _dir) = open().await;
    import(&store, ws, "email,first_name\nada@engines.example,Ada\n")
        .await
        .unwrap();
    let account = relay_account(&store, ws).await;
    let template = store
        .create_template(ws, "first", "Hi", "Hello", Actor::Cli)
        .await
        .unwrap();
    let campaign = launch(&store, ws, account.id, template.id).await;
    let ids = prospect_ids(&store, ws).await;
    store.enrol(campaign.id, &ids, Actor::Cli).await.unwrap();
    let running = |status| store.set_campaign_status(campaign.id, status, Actor::Cli);
    running(CampaignStatus::Running).await.unwrap();
    let e = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap()
        .remove(0);
    store
        .enqueue(&[NewMessage {
            workspace_id: ws,
            campaign_id: campaign.id,
            enrollment_id: e.id,
            step_position: 1,
            prospect_id: e.prospect_id,
            account_id: account.id,
            variant: e.variant.clone(),
            message_id: "m1@brand.example".into(),
            to_address: "ada@engines.example".into(),
            to_name: None,
            subject: "Hi".into(),
            body: "Hello".into(),
            unsubscribe_token: "t1".into(),
            due_at: "2026-11-25T10:00:00Z".into(),
            template_id: template.id,
            template_changed_at: template.updated_at.clone(),
        }])
        .await
        .unwrap();
    let now = "2026-11-25T12:00:00.000Z";
    let chosen = chosen_by_sender(&store, account.id, now).await;
    assert_eq!(chosen.len(), 1);
    // The user pauses between the sender's choice and its claim.
    running(CampaignStatus::Paused).await.unwrap();
    let claimed = store
        .claim_batch(&chosen, account.id, now, &[])
        .await
        .unwrap();
    assert!(claimed.is_empty(), "a paused campaign's step was claimed");
    assert!(
        store
            .account_attempts(account.id, "2026-01-01T00:00:00Z", 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing was counted as an attempt"
    );
    // The pause took the message back: resumed, the step is due again, to be written anew,
    // and the old choice claims nothing.
    running(CampaignStatus::Running).await.unwrap();
    let claimed = store
        .claim_batch(&chosen, account.id, now, &[])
        .await
        .unwrap();
    assert!(claimed.is_empty());
    assert_eq!(due_in(&store, campaign.id).await, 1);
    store.close().await;
}

/// A second workspace, "Other", with one prospect; returns its id and the prospect's.
async fn other_workspace(store: &Store) -> (i64, i64) {
    let other = new_workspace(store, "Other").await;
    import(store, other, "email\nzed@elsewhere.example\n")
        .await
        .unwrap();
    (other, prospect_ids(store, other).await[0])
}

#[tokio::test]
async fn enrolling_a_list_takes_each_live_prospect_once_with_variants_in_turn() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email\na@x.example\nb@x.example\nc@x.example\nd@x.example\n",
    )
    .await
    .unwrap();
    let [a, b, c, d] = prospect_ids(&store, ws).await[..] else {
        panic!("four prospects");
    };
    let (_, zed) = other_workspace(&store).await;
    store
        .set_prospects_deleted(ws, &[d], false, Actor::Cli)
        .await
        .unwrap();
    let account = relay_account(&store, ws).await;
    let first = store
        .create_template(ws, "A", "Hi", "Hello", Actor::Cli)
        .await
        .unwrap();
    let second = store
        .create_template(ws, "B", "Hey", "Hello", Actor::Cli)
        .await
        .unwrap();
    let campaign = launch(&store, ws, account.id, first.id).await;
    let mut fields = campaign.fields.clone();
    fields.steps[0].template_ids = vec![first.id, second.id];
    store
        .update_campaign(campaign.id, &fields, Actor::Cli)
        .await
        .unwrap();

    // A repeated id, another workspace's prospect and a deleted one are skipped.
    assert_eq!(
        store
            .enrol(campaign.id, &[a, a, zed, d], Actor::Cli)
            .await
            .unwrap(),
        1
    );
    // The enrolled one is skipped again; the variants go on in turn, in the order given.
    assert_eq!(
        store
            .enrol(campaign.id, &[c, a, b], Actor::Cli)
            .await
            .unwrap(),
        2
    );
    let enrolled: Vec<(i64, String)> = store
        .enrolments(campaign.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p, label)| (p, label))
        .collect();
    assert_eq!(
        enrolled,
        vec![(a, "A".into()), (c, "B".into()), (b, "A".into())]
    );
    store.close().await;
}

#[tokio::test]
async fn assigning_legitimate_interest_records_one_event_per_changed_prospect() {
    use outreach_core::campaign::LegitimateInterestAssessment;
    use outreach_core::prospect::LawfulBasis;

    let (store, ws, _dir) = open().await;
    import(&store, ws, "email\na@x.example\nb@x.example\nc@x.example\n")
        .await
        .unwrap();
    let [a, b, c] = prospect_ids(&store, ws).await[..] else {
        panic!("three prospects");
    };
    let (_, zed) = other_workspace(&store).await;
    // Refused without an assessment, and nothing changes.
    assert!(matches!(
        store.assign_legitimate_interest(ws, &[a], Actor::Cli).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(store.consent_history(a).await.unwrap().is_empty());
    store
        .record_assessment(
            ws,
            &LegitimateInterestAssessment {
                purpose: "partner outreach".into(),
                necessity: "publishers cannot be found otherwise".into(),
                balancing: "business addresses, easy opt-out".into(),
                assessed_on: "2026-11-01".into(),
                author: "Dana Lead".into(),
            },
            Actor::Cli,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .assign_legitimate_interest(ws, &[c], Actor::Cli)
            .await
            .unwrap(),
        1
    );

    // `c` already has the basis, `a` is named twice, `zed` is another workspace's.
    assert_eq!(
        store
            .assign_legitimate_interest(ws, &[a, b, a, c, zed], Actor::Cli)
            .await
            .unwrap(),
        2
    );
    for p in [a, b, c] {
        let history = store.consent_history(p).await.unwrap();
        assert_eq!(history.len(), 1, "prospect #{p}: {history:?}");
        assert_eq!(history[0].kind, "lawful_basis");
        assert_eq!(
            history[0].lawful_basis.as_deref(),
            Some("legitimate_interest")
        );
        assert_eq!(history[0].source, "cli");
        assert_eq!(
            store.prospect(p).await.unwrap().lawful_basis,
            LawfulBasis::LegitimateInterest
        );
    }
    assert!(store.consent_history(zed).await.unwrap().is_empty());
    assert_eq!(
        store.prospect(zed).await.unwrap().lawful_basis,
        LawfulBasis::None
    );
    store.close().await;
}

#[tokio::test]
async fn erasure_removes_everything_of_the_person_but_their_suppression_hash() {
    use outreach_core::reply::Intent;
    use outreach_store::consent::SuppressionEntry;
    use outreach_store::outbox::Outcome;
    use outreach_store::replies::{Effect, ReplyFilter};

    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email,first_name,last_name\nada@engines.example,Ada,Lovelace\nalan@bletchley.example,Alan,Turing\n",
    )
    .await
    .unwrap();
    let ids = prospect_ids(&store, ws).await;
    let find = |name: &str| {
        let store = store.clone();
        let name = name.to_owned();
        async move {
            store
                .list_prospects(&ProspectQuery {
                    search: Some(name),
                    ..query(ws)
                })
                .await
                .unwrap()
                .rows
                .iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        }
    };
    let (ada, alan) = (find("Lovelace").await[0], find("Turing").await[0]);
    assert_eq!(ids.len(), 2);

    // Ada and Alan each got the campaign's first step; both replied, Alan pointing to Ada.
    let (campaign, account, due) = running_launch(&store, ws, &ids).await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    let queued: Vec<i64> = store
        .list_messages(campaign.id, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    let at = "2026-11-25T12:00:00.000Z";
    let claimed = store
        .claim_batch(&queued, account.id, at, &[])
        .await
        .unwrap();
    let sent = Outcome::Sent {
        response: "250 ok".into(),
    };
    let outcomes: Vec<_> = claimed.iter().map(|m| (m, &sent)).collect();
    store
        .record_and_claim(account.id, at, &outcomes, at, &[], &[])
        .await
        .unwrap();
    let question = question_from(&store, ws, account.id, ada).await;
    store
        .relabel_reply(question, Intent::Interested, Actor::Cli)
        .await
        .unwrap();
    let alan_sender = Sender {
        prospect_id: alan,
        address: "alan@bletchley.example",
        name: "Alan",
    };
    let pointer = reply_from(
        &store,
        ws,
        account.id,
        &alan_sender,
        ("r2@bletchley.example", 2, "2026-11-25T10:00:00Z"),
        ("Ask Ada, and Grace", Intent::Referral),
        &[
            Effect::Referral {
                email: "ada@engines.example".into(),
                name: Some("Ada".into()),
            },
            Effect::Referral {
                email: "grace@navy.example".into(),
                name: Some("Grace".into()),
            },
        ],
    )
    .await;
    store
        .record_consent(ada, "Agreed on the phone, 2026-11-20", Actor::Cli)
        .await
        .unwrap();

    // Before she goes, her record as she may ask for it: hers only, with every text.
    let record = store.personal_data(ada).await.unwrap();
    assert_eq!(record.prospect.id, ada);
    assert_eq!(record.messages.len(), 1);
    assert_eq!(record.messages[0].body, "Hello");
    assert_eq!(record.messages[0].campaign.as_deref(), Some("Launch"));
    assert_eq!(
        record
            .replies
            .iter()
            .map(|r| r.new_text.as_str())
            .collect::<Vec<_>>(),
        ["What do you pay?"]
    );
    assert_eq!(record.consent_history.len(), 1);
    assert_eq!(record.campaigns.len(), 1);
    assert_eq!(
        record
            .drafted_answers
            .iter()
            .map(|d| d.body.as_str())
            .collect::<Vec<_>>(),
        ["Thanks for your question."]
    );

    // An id of another workspace among them: refused, named, and nothing changes.
    let (other_ws, stranger) = other_workspace(&store).await;
    assert_ne!(other_ws, ws);
    let ada_hash = SuppressionEntry {
        hash: "hash-of-ada".into(),
        kind: "email",
    };
    let err = store
        .erase_prospects(
            ws,
            &[ada, stranger],
            std::slice::from_ref(&ada_hash),
            Actor::Cli,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(m) if m.contains(&format!("#{stranger}"))),
        "{err:?}"
    );
    assert_eq!(store.prospect(ada).await.unwrap().id, ada);
    assert!(
        store
            .suppressed_among(std::slice::from_ref(&ada_hash.hash))
            .await
            .unwrap()
            .is_empty()
    );
    let err = store
        .erase_prospects(ws, &[], &[], Actor::Cli)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");

    // Saved searches: one finds Ada by her name (it goes with her), one by her company's
    // domain only, one finds only Alan, one nobody at all, one names an Ada elsewhere (all
    // four stay).
    for (name, search) in [
        ("Ada", "love"),
        ("Ada elsewhere", "ada globex"),
        ("Engines", "engines"),
        ("Alan", "turing"),
        ("Grace", "hopper"),
    ] {
        let filter = outreach_store::saved_filters::ProspectFilter {
            search: Some(search.into()),
            ..Default::default()
        };
        store
            .save_filter(ws, name, &filter, Actor::App)
            .await
            .unwrap();
    }
    let filter_names = || async {
        store
            .saved_filters(ws)
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
    };

    // What would go, then what went: the same.
    let preview = store.erasure_counts(ws, &[ada, ada]).await.unwrap();
    let expected = outreach_store::erasure::ErasureCounts {
        prospects: 1,
        enrolments: 1,
        messages: 1,
        queued: 0,
        replies: 1,
        consent_events: 1,
        saved_filters: 1,
    };
    assert_eq!(preview, expected);
    let erased = store
        .erase_prospects(ws, &[ada], std::slice::from_ref(&ada_hash), Actor::Cli)
        .await
        .unwrap();
    assert_eq!(erased, expected);

    assert!(matches!(
        store.prospect(ada).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        filter_names().await,
        ["Ada elsewhere", "Alan", "Engines", "Grace"]
    );
    // The audit log, never rewritten, kept no search text to begin with.
    let saved = audited(&store, ws, "prospects.filter_saved").await;
    assert_eq!(saved.len(), 5);
    for entry in saved {
        let details = entry.details.as_ref().unwrap().to_string();
        assert!(!details.contains("love"), "{details}");
        assert!(details.contains(r#""has_search":true"#), "{details}");
    }
    let erase = &audited(&store, ws, "prospect.erase").await[0];
    assert!(
        erase
            .summary
            .contains("1 saved filter(s) whose search found them by name"),
        "{}",
        erase.summary
    );
    assert!(find("Lovelace").await.is_empty(), "gone from search");
    assert!(find("engines").await.is_empty(), "gone from search");
    assert_eq!(prospect_ids(&store, ws).await, vec![alan]);
    assert!(store.consent_history(ada).await.unwrap().is_empty());
    let replies = store
        .list_replies(ws, &ReplyFilter::default())
        .await
        .unwrap();
    assert_eq!(replies.iter().map(|r| r.id).collect::<Vec<_>>(), [pointer]);
    assert!(matches!(
        store.reply(question).await,
        Err(StoreError::NotFound(_))
    ));
    // Her words were a few-shot example; a referral named her address.
    assert!(store.intent_corrections(ws).await.unwrap().is_empty());
    let left: Vec<String> = store
        .referrals(pointer)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.email)
        .collect();
    assert_eq!(left, ["grace@navy.example"]);
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].prospect_id, alan);
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.enrolled, progress.sent), (1, 1));
    // The governor still counts both sends; the address stays suppressed.
    assert_eq!(
        store
            .account_attempts(account.id, "2026-01-01T00:00:00Z", 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .suppressed_among(std::slice::from_ref(&ada_hash.hash))
            .await
            .unwrap()
            .contains(&ada_hash.hash)
    );
    let audit = store
        .audit_log(ws, &AuditFilter::default(), 5, None)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "prospect.erase");
    assert!(!audit[0].summary.contains("Ada"), "{}", audit[0].summary);
    // Erasing her again: she is not there.
    assert!(matches!(
        store
            .erase_prospects(ws, &[ada], &[], Actor::Cli)
            .await
            .unwrap_err(),
        StoreError::NotFound(_)
    ));
    store.close().await;
}

#[tokio::test]
async fn a_step_rendered_for_someone_erased_meanwhile_is_dropped_without_an_error() {
    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email\nada@engines.example\nalan@bletchley.example\n",
    )
    .await
    .unwrap();
    let ids = prospect_ids(&store, ws).await;
    // The engine reads the due steps and renders them; meanwhile a person erases one prospect.
    let (campaign, account, due) = running_launch(&store, ws, &ids).await;
    assert_eq!(due.len(), 2);
    let erased = due[0].prospect_id;
    store
        .erase_prospects(ws, &[erased], &[], Actor::Cli)
        .await
        .unwrap();
    let messages = first_steps(&store, ws, &campaign, &account, &due).await;
    assert_eq!(store.enqueue(&messages).await.unwrap(), 1);
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0].prospect_id, erased);
    // Or the gate refused the erased one's step: there is nothing left to record it against.
    store
        .block_enrollment(ws, &due[0], None, "suppressed", "the address is suppressed")
        .await
        .unwrap();
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.enrolled, progress.blocked), (1, 0));
    store.close().await;
}

/// A running one-step campaign "Launch" ("Hi" / "Hello") on a new relay account, with `ids`
/// enrolled; returns it, the account and the enrolments now due.
async fn running_launch(
    store: &Store,
    ws: i64,
    ids: &[i64],
) -> (
    outreach_core::campaign::Campaign,
    outreach_core::campaign::SenderAccount,
    Vec<outreach_store::outbox::DueEnrollment>,
) {
    use outreach_core::campaign::CampaignStatus;
    let account = relay_account(store, ws).await;
    let template = store
        .create_template(ws, "first", "Hi", "Hello", Actor::Cli)
        .await
        .unwrap();
    let campaign = launch(store, ws, account.id, template.id).await;
    store.enrol(campaign.id, ids, Actor::Cli).await.unwrap();
    store
        .set_campaign_status(campaign.id, CampaignStatus::Running, Actor::Cli)
        .await
        .unwrap();
    let due = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    (campaign, account, due)
}

/// Each due enrolment's first step of [`running_launch`], as the scheduler queues it from
/// the step's template as it is now.
async fn first_steps(
    store: &Store,
    ws: i64,
    campaign: &outreach_core::campaign::Campaign,
    account: &outreach_core::campaign::SenderAccount,
    due: &[outreach_store::outbox::DueEnrollment],
) -> Vec<outreach_store::outbox::NewMessage> {
    let template = store
        .template(campaign.fields.steps[0].template_ids[0])
        .await
        .unwrap();
    let mut written = Vec::new();
    for e in due {
        // Addressed as the scheduler addresses them, to the prospect's address (a stand-in
        // for one erased since the enrolments were read).
        let to = match store.prospect(e.prospect_id).await {
            Ok(p) => p.email.unwrap_or_default(),
            Err(_) => format!("p{}@example.com", e.prospect_id),
        };
        written.push(outreach_store::outbox::NewMessage {
            workspace_id: ws,
            campaign_id: campaign.id,
            enrollment_id: e.id,
            step_position: e.next_position,
            prospect_id: e.prospect_id,
            account_id: account.id,
            variant: e.variant.clone(),
            message_id: format!("m{}@brand.example", e.id),
            to_address: to,
            to_name: None,
            subject: "Hi".into(),
            body: "Hello".into(),
            unsubscribe_token: format!("t{}", e.id),
            due_at: "2026-11-25T10:00:00Z".into(),
            template_id: template.id,
            template_changed_at: template.updated_at.clone(),
        });
    }
    written
}

#[tokio::test]
async fn prospects_past_the_retention_period_are_purged_in_batches_without_being_suppressed() {
    use outreach_core::reply::Intent;
    use outreach_store::consent::SuppressionEntry;

    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email\nada@engines.example\nalan@bletchley.example\ngrace@navy.example\n",
    )
    .await
    .unwrap();
    let [ada, alan, grace] = prospect_ids(&store, ws).await[..] else {
        panic!("three prospects");
    };
    let (_, zed) = other_workspace(&store).await;
    let added = store.prospect(ada).await.unwrap().created_at;
    // Four years after `added` in the same month and day (a 29 February falls in a leap year
    // again), with the year changed as text.
    let year: i32 = added[..4].parse().unwrap();
    let years_after = |n: i32, rest: &str| format!("{}{rest}", year + n);

    // 36 months by default; nobody is due on the day they were added.
    let fresh = store.retention_status(ws, &added, None).await.unwrap();
    assert_eq!(fresh.months, 36);
    assert_eq!(fresh.due.prospects, 0);
    assert_eq!(
        fresh.next_due_at.as_deref(),
        Some(years_after(3, &added[4..]).as_str())
    );
    for months in [0, 121] {
        assert!(matches!(
            store.set_retention_months(ws, months, Actor::Cli).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert_eq!(
        store
            .retention_status(ws, &added, None)
            .await
            .unwrap()
            .months,
        36
    );
    store
        .set_retention_months(ws, 48, Actor::Cli)
        .await
        .unwrap();

    // Alan replied a year later; Grace opted out and is in the trash; Ada never answered.
    let account = relay_account(&store, ws).await;
    let alan_sender = Sender {
        prospect_id: alan,
        address: "alan@bletchley.example",
        name: "Alan",
    };
    let replied = years_after(1, "-06-01T00:00:00Z");
    reply_from(
        &store,
        ws,
        account.id,
        &alan_sender,
        ("r1@bletchley.example", 1, &replied),
        ("Tell me more", Intent::Question),
        &[],
    )
    .await;
    let grace_hash = SuppressionEntry {
        hash: "hash-of-grace".into(),
        kind: "email",
    };
    store
        .opt_out(
            grace,
            std::slice::from_ref(&grace_hash),
            "asked by phone",
            Actor::Cli,
        )
        .await
        .unwrap();
    store
        .set_prospects_deleted(ws, &[grace], true, Actor::Cli)
        .await
        .unwrap();

    // A saved search for Grace (by her address) goes with her; one for Alan stays.
    for (name, search) in [("Grace", "grace"), ("Alan", "alan")] {
        let filter = outreach_store::saved_filters::ProspectFilter {
            search: Some(search.into()),
            ..Default::default()
        };
        store
            .save_filter(ws, name, &filter, Actor::App)
            .await
            .unwrap();
    }

    // At the end of the fourth year Ada's and Grace's periods have ended, Alan's has not.
    let later = years_after(4, "-12-31T23:59:59.999Z");
    let status = store.retention_status(ws, &later, None).await.unwrap();
    assert_eq!(
        (
            status.due.prospects,
            status.due.consent_events,
            status.due.saved_filters
        ),
        (2, 1, 1)
    );
    assert_eq!(
        status.next_due_at.as_deref(),
        Some(years_after(5, "-06-01T00:00:00.000Z").as_str())
    );
    // As it would be with ten years instead: nobody; the period in force stays.
    let longer = store.retention_status(ws, &later, Some(120)).await.unwrap();
    assert_eq!((longer.months, longer.due.prospects), (120, 0));
    assert!(matches!(
        store.retention_status(ws, &later, Some(0)).await,
        Err(StoreError::Invalid(_))
    ));

    // One at a time, oldest first, until nobody is due.
    let mut purged = Vec::new();
    loop {
        let counts = store
            .purge_expired(ws, &later, 1, Actor::System)
            .await
            .unwrap();
        if counts.prospects == 0 {
            break;
        }
        assert_eq!(counts.prospects, 1);
        purged.push(counts);
    }
    assert_eq!(purged.len(), 2);
    assert_eq!(purged[1].consent_events, 1, "Grace's opt-out went with her");
    assert_eq!(purged[1].saved_filters, 1, "and the search for her");
    let filters = store.saved_filters(ws).await.unwrap();
    assert_eq!(
        filters.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["Alan"]
    );
    for gone in [ada, grace] {
        assert!(matches!(
            store.prospect(gone).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(store.prospect(alan).await.unwrap().id, alan);
    assert_eq!(
        store.prospect(zed).await.unwrap().id,
        zed,
        "other workspace"
    );
    // Her objection stays on the suppression list; a purge adds nothing to it.
    assert!(
        store
            .suppressed_among(std::slice::from_ref(&grace_hash.hash))
            .await
            .unwrap()
            .contains(&grace_hash.hash)
    );
    let audit = store
        .audit_log(ws, &AuditFilter::default(), 10, None)
        .await
        .unwrap();
    let purges: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "prospect.purge")
        .collect();
    assert_eq!(
        purges.len(),
        2,
        "one entry per batch, none for the empty one"
    );
    assert!(purges.iter().all(|e| e.actor == "system"));
    assert!(
        !purges[0].summary.contains("grace"),
        "{}",
        purges[0].summary
    );
    let after = store.retention_status(ws, &later, None).await.unwrap();
    assert_eq!(after.due, outreach_store::erasure::ErasureCounts::default());
    store.close().await;
}

#[tokio::test]
async fn a_deleted_workspace_stops_at_once_and_is_erased_once_nothing_is_on_the_wire() {
    use outreach_core::campaign::{CampaignStatus, MessageStatus};
    use outreach_store::outbox::Outcome;

    let (store, ws, _dir) = open().await;
    import(
        &store,
        ws,
        "email\nada@engines.example\nalan@bletchley.example\n",
    )
    .await
    .unwrap();
    let ids = prospect_ids(&store, ws).await;
    let (other_ws, zed) = other_workspace(&store).await;
    let (campaign, account, due) = running_launch(&store, ws, &ids).await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    let queued: Vec<i64> = store
        .list_messages(campaign.id, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(queued.len(), 2);
    // One message is on the wire when the workspace is deleted.
    let at = "2026-11-25T12:00:00.000Z";
    let claimed = store
        .claim_batch(&queued[..1], account.id, at, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    let replies_box = outreach_core::inbox::MailboxFields {
        host: "127.0.0.1".into(),
        port: Some(1143),
        security: outreach_core::inbox::MailboxSecurity::PlainLoopback,
        username: "partners".into(),
        auth: outreach_core::inbox::MailboxAuth::Password,
        mailbox: "INBOX".into(),
        enabled: true,
    };
    store
        .set_mailbox(account.id, &replies_box, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.polled_mailboxes().await.unwrap().len(), 1);

    // The account keeps a password in the keychain; a second, a local relay's, keeps nothing
    // there, so the deletion has nothing to remove for it (and needs no keychain for it).
    store
        .set_account_secret_flags(account.id, true, false)
        .await
        .unwrap();
    let bare = store
        .create_account(
            ws,
            &outreach_core::campaign::AccountFields {
                name: "bare relay".into(),
                ..relay_fields()
            },
            Actor::Cli,
        )
        .await
        .unwrap();

    // A template being written, not saved yet, goes with it too.
    store
        .save_template_draft(ws, None, "Half written", "Hi", "Dear {{ first_name }},")
        .await
        .unwrap();

    // A saved filter can name a person (a search for a surname): it goes with the workspace.
    let filter = outreach_store::saved_filters::ProspectFilter {
        search: Some("Lovelace".into()),
        ..Default::default()
    };
    store
        .save_filter(ws, "Ada's", &filter, Actor::App)
        .await
        .unwrap();

    let held = store.workspace_contents(ws).await.unwrap();
    assert_eq!(
        (held.prospects, held.campaigns, held.accounts, held.messages),
        (2, 1, 2, 2)
    );
    let accounts = store.mark_workspace_deleted(ws, Actor::Cli).await.unwrap();
    assert_eq!(accounts, [account.id], "not #{}", bare.id);
    // Hidden and stopped at once; its name is free again; nothing else waits to go out.
    assert!(matches!(
        store.workspace(ws).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .list_workspaces()
            .await
            .unwrap()
            .iter()
            .all(|w| w.id != ws)
    );
    assert_eq!(
        store.campaign(campaign.id).await.unwrap().status,
        CampaignStatus::Stopped
    );
    assert!(
        store.polled_mailboxes().await.unwrap().is_empty(),
        "its replies are no longer read"
    );
    let mut statuses: Vec<MessageStatus> = store
        .list_messages(campaign.id, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.status)
        .collect();
    statuses.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(statuses, [MessageStatus::Cancelled, MessageStatus::Sending]);
    assert!(matches!(
        store.mark_workspace_deleted(ws, Actor::Cli).await,
        Err(StoreError::NotFound(_))
    ));
    let again = new_workspace(&store, "Acme").await;
    assert_ne!(again, ws);

    // Erasing waits for the message on the wire.
    assert_eq!(store.workspaces_being_deleted().await.unwrap(), [ws]);
    assert!(
        !store
            .finish_workspace_deletion(ws, Actor::Cli, |_| {})
            .await
            .unwrap()
    );
    assert_eq!(
        prospect_ids(&store, ws).await.len(),
        2,
        "nothing erased yet"
    );
    let sent = Outcome::Sent {
        response: "250 ok".into(),
    };
    let outcomes: Vec<_> = claimed.iter().map(|m| (m, &sent)).collect();
    store
        .record_and_claim(account.id, at, &outcomes, at, &[], &[])
        .await
        .unwrap();
    assert!(
        store
            .finish_workspace_deletion(ws, Actor::Cli, |_| {})
            .await
            .unwrap()
    );
    for id in &ids {
        assert!(matches!(
            store.prospect(*id).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert!(matches!(
        store.campaign(campaign.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.list_accounts(ws).await.unwrap().is_empty());
    assert!(store.saved_filters(ws).await.unwrap().is_empty());
    assert_eq!(store.template_draft(ws, None).await.unwrap(), None);
    assert!(store.workspaces_being_deleted().await.unwrap().is_empty());
    // The other workspaces keep everything; the audit log keeps both steps.
    assert_eq!(store.prospect(zed).await.unwrap().workspace_id, other_ws);
    let actions: Vec<String> = store
        .audit_log(ws, &AuditFilter::default(), 10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    // The message on the wire was written down in between.
    assert_eq!(
        actions[..3],
        ["workspace.purged", "send.sent", "workspace.delete"]
    );
    store.close().await;
}

/// The workspace's newest audit entries (up to 100) of one action, newest first.
async fn audited(store: &Store, ws: i64, action: &str) -> Vec<outreach_core::prospect::AuditEntry> {
    store
        .audit_log(ws, &AuditFilter::default(), 100, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// The actions of entries, newest first.
fn actions(entries: &[outreach_core::prospect::AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

#[tokio::test]
async fn the_audit_log_shows_one_persons_history_and_keeps_it_past_their_erasure() {
    use outreach_core::prospect::{AuditActor, AuditTopic};
    let (store, ws, _dir) = open().await;
    import(&store, ws, "email\nada@x.example\nbob@x.example\n")
        .await
        .unwrap();
    let id_of = |email: &'static str| {
        let store = &store;
        async move {
            let mut q = query(ws);
            q.search = Some(email.into());
            store.list_prospects(&q).await.unwrap().rows[0].id
        }
    };
    let (ada, bob) = (id_of("ada").await, id_of("bob").await);
    let patch = ProspectPatch {
        company: Some("Engines Ltd".into()),
        ..Default::default()
    };
    store
        .update_prospect(ada, &patch, Actor::App)
        .await
        .unwrap();
    store
        .record_consent(ada, "signed up at the fair", Actor::App)
        .await
        .unwrap();
    store
        .set_prospects_deleted(ws, &[bob], false, Actor::App)
        .await
        .unwrap();
    // Something about no one in particular.
    store
        .create_workspace(
            &WorkspaceFields {
                name: "Other".into(),
                ..Default::default()
            },
            Actor::App,
        )
        .await
        .unwrap();

    let about = |prospect_id, topic, actor| AuditFilter {
        prospect_id,
        topic,
        actor,
    };
    let log = |f: AuditFilter| {
        let store = &store;
        async move { store.audit_log(ws, &f, 50, None).await.unwrap() }
    };
    let ada_log = log(about(Some(ada), None, None)).await;
    assert_eq!(
        actions(&ada_log),
        ["consent.record", "prospect.update", "prospects.import"]
    );
    assert_eq!(
        ada_log[0].prospect_id,
        Some(ada),
        "one person's entry names them"
    );
    assert_eq!(
        ada_log[2].prospect_id, None,
        "an entry about many lists them apart"
    );
    assert_eq!(
        actions(&log(about(Some(bob), None, None)).await),
        ["prospect.delete", "prospects.import"]
    );
    assert_eq!(
        actions(&log(about(None, Some(AuditTopic::Consent), None)).await),
        ["consent.record"]
    );
    assert_eq!(
        actions(&log(about(None, Some(AuditTopic::Prospects), None)).await),
        ["prospect.delete", "prospect.update", "prospects.import"]
    );
    assert!(
        log(about(None, Some(AuditTopic::Sending), None))
            .await
            .is_empty()
    );
    assert_eq!(
        actions(
            &log(about(
                None,
                Some(AuditTopic::Workspace),
                Some(AuditActor::Cli)
            ))
            .await
        ),
        ["workspace.create"]
    );
    assert_eq!(
        actions(&log(about(None, None, Some(AuditActor::Cli))).await),
        ["prospects.import", "workspace.create"]
    );
    assert_eq!(
        actions(
            &log(about(
                Some(ada),
                Some(AuditTopic::Prospects),
                Some(AuditActor::App)
            ))
            .await
        ),
        ["prospect.update"]
    );
    // Paging back through one person's entries.
    let older = store
        .audit_log(ws, &about(Some(ada), None, None), 1, Some(ada_log[0].id))
        .await
        .unwrap();
    assert_eq!(actions(&older), ["prospect.update"]);

    // Their copy of their record says what was done with it, oldest first.
    let record = store.personal_data(ada).await.unwrap();
    assert_eq!(
        actions(&record.activity),
        ["prospects.import", "prospect.update", "consent.record"]
    );

    // Erased, they are a number the log still accounts for, and nothing more.
    store
        .erase_prospects(ws, &[ada], &[], Actor::App)
        .await
        .unwrap();
    let after = log(about(Some(ada), None, None)).await;
    assert_eq!(
        actions(&after),
        [
            "prospect.erase",
            "consent.record",
            "prospect.update",
            "prospects.import"
        ]
    );
    assert!(
        after.iter().all(|e| !e.summary.contains("ada")),
        "no entry names them"
    );
    store.close().await;
}

/// The last migration before audit entries said whom they were about.
const BEFORE_AUDIT_SUBJECTS: i64 = 20261207120000;

#[tokio::test]
async fn an_upgrade_links_earlier_audit_entries_to_the_people_they_named() {
    use sqlx::Connection;
    let (_dir, path, key, mut old) = database_at(BEFORE_AUDIT_SUBJECTS).await;
    for statement in [
        "INSERT INTO workspaces (id, name) VALUES (1, 'Acme')",
        "INSERT INTO prospects (id, workspace_id, email, source_type, collected_at)
         VALUES (5, 1, 'ada@engines.example', 'csv', '2026-11-30T09:00:00.000Z'),
                (6, 1, 'bob@byron.example', 'csv', '2026-11-30T09:00:00.000Z')",
        "INSERT INTO sender_accounts (id, workspace_id, name, transport, host, port, security,
             from_name, from_address)
         VALUES (1, 1, 'relay', 'smtp', '127.0.0.1', 2525, 'plain_loopback', 'Acme',
             'partners@acme.example')",
        "INSERT INTO replies (id, workspace_id, prospect_id, account_id, matched_by, received_at,
             kind, new_text, full_text, intent, confidence, intent_source)
         VALUES (3, 1, 6, 1, 'sender', '2026-12-01T10:00:00.000Z', 'human', 'Tell me more',
             'Tell me more', 'question', 0.9, 'rules')",
        "INSERT INTO audit_log (workspace_id, actor, action, summary, details) VALUES
         (1, 'system', 'send.sent', 'Message #1 to prospect #5 sent (campaign #1, step 0)', NULL),
         (1, 'app', 'reply.relabelled', 'Reply #3: intent question -> interested', NULL),
         (1, 'app', 'prospect.delete', 'Deleted 2 prospect(s)', '{\"prospect_ids\":[5,6]}'),
         (1, 'app', 'consent.lawful_basis', 'Assigned legitimate interest to 2 prospect(s)', NULL),
         (1, 'app', 'template.create', 'Created template #1', NULL)",
    ] {
        sqlx::query(statement).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();

    let store = Store::open(&path, &key).await.unwrap();
    let of = |p| {
        let store = &store;
        async move {
            let filter = AuditFilter {
                prospect_id: Some(p),
                ..Default::default()
            };
            store.audit_log(1, &filter, 10, None).await.unwrap()
        }
    };
    assert_eq!(actions(&of(5).await), ["prospect.delete", "send.sent"]);
    // A bulk change that did not list its people stays unlinked.
    assert_eq!(
        actions(&of(6).await),
        ["prospect.delete", "reply.relabelled"]
    );
    store.close().await;
    // The log is append-only again, the people beside it too.
    let mut conn = raw_connection(&path, &key).await;
    for statement in [
        "UPDATE audit_log SET prospect_id = 6",
        "DELETE FROM audit_subjects",
    ] {
        let err = sqlx::query(statement).execute(&mut conn).await.unwrap_err();
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
    conn.close().await.unwrap();
}

/// The message of a refusal the store reports as a conflict.
fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict(m)) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn templates_and_campaigns_go_to_the_trash_only_once_nothing_needs_them_and_come_back() {
    use outreach_core::campaign::{
        CampaignStatus, PositiveFollowUp, PositiveMode, UnconfirmedChoice,
    };

    let (store, ws, _dir) = open().await;
    import(&store, ws, "email,first_name\nada@engines.example,Ada\n")
        .await
        .unwrap();
    let ids = prospect_ids(&store, ws).await;
    let (campaign, account, due) = running_launch(&store, ws, &ids).await;
    let first = store.template_by_name(ws, "first").await.unwrap();
    let follow = store
        .create_template(ws, "follow", "Re", "Glad to hear it", Actor::Cli)
        .await
        .unwrap();
    let spare = store
        .create_template(ws, "spare", "Hi", "Unused", Actor::Cli)
        .await
        .unwrap();
    let mut answers = store.campaign(campaign.id).await.unwrap().fields;
    answers.name = "Answers".into();
    answers.positive_follow_up = PositiveFollowUp {
        template_id: Some(follow.id),
        mode: PositiveMode::Draft,
    };
    let answers = store
        .create_campaign(ws, &answers, Actor::Cli)
        .await
        .unwrap();

    // A template a campaign uses stays, and the refusal names the campaigns.
    let why = conflict(store.delete_template(first.id, Actor::Cli).await);
    assert!(why.contains("'Answers' and 'Launch'"), "{why}");
    let why = conflict(store.delete_template(follow.id, Actor::Cli).await);
    assert!(why.contains("used by 'Answers'"), "{why}");
    assert_eq!(store.list_templates(ws).await.unwrap().len(), 3);

    // One nothing uses goes, and comes back unless its name was taken meanwhile.
    store.delete_template(spare.id, Actor::Cli).await.unwrap();
    let names = |ts: Vec<outreach_core::campaign::Template>| -> Vec<String> {
        ts.into_iter().map(|t| t.name).collect()
    };
    assert_eq!(
        names(store.list_templates(ws).await.unwrap()),
        ["first", "follow"]
    );
    assert!(matches!(
        store.template(spare.id).await,
        Err(StoreError::NotFound(_))
    ));
    let trash = store.trash(ws).await.unwrap();
    assert_eq!(trash.templates.len(), 1);
    assert_eq!(
        (trash.templates[0].id, trash.templates[0].name.as_str()),
        (spare.id, "spare")
    );
    assert!(trash.campaigns.is_empty());
    let newer = store
        .create_template(ws, "Spare", "Hi", "Another", Actor::Cli)
        .await
        .unwrap();
    let why = conflict(store.restore_template(spare.id, Actor::Cli).await);
    assert!(why.contains("another template is named 'spare'"), "{why}");
    assert_eq!(store.trash(ws).await.unwrap().templates.len(), 1);
    store
        .update_template(newer.id, "Spare 2", "Hi", "Another", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(
        store
            .restore_template(spare.id, Actor::Cli)
            .await
            .unwrap()
            .body,
        "Unused"
    );
    assert!(store.trash(ws).await.unwrap().templates.is_empty());
    assert!(matches!(
        store.restore_template(spare.id, Actor::Cli).await,
        Err(StoreError::NotFound(_))
    ));

    // A campaign that may still send stays: running, then a message on the wire, then one
    // whose fate nobody knows.
    let why = conflict(store.delete_campaign(campaign.id, Actor::Cli).await);
    assert!(why.contains("is running; stop it"), "{why}");
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    let row = store.list_messages(campaign.id, None, 10).await.unwrap()[0].id;
    store
        .claim_batch(&[row], account.id, "2026-11-25T10:00:00Z", &[])
        .await
        .unwrap();
    store
        .set_campaign_status(campaign.id, CampaignStatus::Stopped, Actor::Cli)
        .await
        .unwrap();
    let why = conflict(store.delete_campaign(campaign.id, Actor::Cli).await);
    assert!(why.contains("still has 1 message(s) to send"), "{why}");
    // Once stopped it has ended: nothing of it changes any more (as its doc says).
    let why = conflict(
        store
            .update_campaign(campaign.id, &campaign.fields, Actor::Cli)
            .await,
    );
    assert!(why.contains("a stopped campaign has ended"), "{why}");
    assert_eq!(store.recover_interrupted().await.unwrap(), 1);
    let why = conflict(store.delete_campaign(campaign.id, Actor::Cli).await);
    assert!(why.contains("1 unconfirmed message(s)"), "{why}");
    store
        .resolve_unconfirmed(ws, &[row], UnconfirmedChoice::Cancel, Actor::Cli)
        .await
        .unwrap();

    // Now it goes: out of the lists, its history with Ada kept and marked.
    store
        .delete_campaign(campaign.id, Actor::Cli)
        .await
        .unwrap();
    let listed: Vec<i64> = store
        .list_campaigns(ws)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, [answers.id]);
    assert!(matches!(
        store.campaign_by_name(ws, "Launch").await,
        Err(StoreError::NotFound(_))
    ));
    let history = store.prospect_enrolments(ids[0]).await.unwrap();
    let launch_history: Vec<bool> = history
        .iter()
        .filter(|e| e.campaign_id == campaign.id)
        .map(|e| e.campaign_in_trash)
        .collect();
    assert_eq!(launch_history, [true]);
    assert_eq!(
        store
            .list_messages(campaign.id, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // A campaign in the trash no longer holds its template; restoring the campaign then
    // waits for the template, and for its name.
    store
        .update_campaign(
            answers.id,
            &{
                let mut f = answers.fields.clone();
                f.steps[0].template_ids = vec![spare.id];
                f
            },
            Actor::Cli,
        )
        .await
        .unwrap();
    store.delete_template(first.id, Actor::Cli).await.unwrap();
    let why = conflict(store.restore_campaign(campaign.id, Actor::Cli).await);
    assert!(
        why.contains("uses template 'first' in the trash; restore it first"),
        "{why}"
    );
    store.restore_template(first.id, Actor::Cli).await.unwrap();
    let stand_in = launch(&store, ws, account.id, first.id).await;
    let why = conflict(store.restore_campaign(campaign.id, Actor::Cli).await);
    assert!(why.contains("another campaign is named 'Launch'"), "{why}");
    store
        .delete_campaign(stand_in.id, Actor::Cli)
        .await
        .unwrap();
    let back = store
        .restore_campaign(campaign.id, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(back.status, CampaignStatus::Stopped);
    assert_eq!(back.fields, campaign.fields);
    assert_eq!(
        store
            .trash(ws)
            .await
            .unwrap()
            .campaigns
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [stand_in.id]
    );

    // Each move is in the audit log.
    assert_eq!(audited(&store, ws, "template.delete").await.len(), 2);
    assert_eq!(audited(&store, ws, "template.restore").await.len(), 2);
    assert_eq!(audited(&store, ws, "campaign.delete").await.len(), 2);
    assert_eq!(audited(&store, ws, "campaign.restore").await.len(), 1);
    store.close().await;
}

#[tokio::test]
async fn a_sender_account_is_removed_only_once_nothing_sends_from_it() {
    use outreach_core::campaign::UnconfirmedChoice;
    use outreach_core::inbox::{MailboxAuth, MailboxFields, MailboxSecurity};

    let (store, ws, _dir) = open().await;
    import(&store, ws, "email,first_name\nada@engines.example,Ada\n")
        .await
        .unwrap();
    let ada = prospect_ids(&store, ws).await[0];
    let account = relay_account(&store, ws).await;
    let template = store
        .create_template(ws, "first", "Hi", "Hello", Actor::Cli)
        .await
        .unwrap();
    let draft_campaign = launch(&store, ws, account.id, template.id).await;
    store
        .set_mailbox(
            account.id,
            &MailboxFields {
                host: "127.0.0.1".into(),
                port: Some(1143),
                security: MailboxSecurity::PlainLoopback,
                username: "alex".into(),
                auth: MailboxAuth::Password,
                mailbox: "INBOX".into(),
                enabled: true,
            },
            Actor::Cli,
        )
        .await
        .unwrap();

    // A campaign outside the trash sends from it.
    let why = conflict(store.delete_account(account.id, Actor::Cli).await);
    assert!(why.contains("used by 'Launch'"), "{why}");
    store
        .delete_campaign(draft_campaign.id, Actor::Cli)
        .await
        .unwrap();

    // An answer to a reply waits to go out through it, then its fate is unknown.
    let reply = question_from(&store, ws, account.id, ada).await;
    let draft = store.open_draft(reply).await.unwrap();
    store
        .queue_draft(
            draft.id,
            &answer_message(account.id, 1, "2026-11-25T10:00:00Z"),
            Actor::Cli,
        )
        .await
        .unwrap();
    let why = conflict(store.delete_account(account.id, Actor::Cli).await);
    assert!(why.contains("still has 1 message(s) to send"), "{why}");
    let row = store
        .claim_candidates(account.id, "2026-11-25T10:00:00Z", 10)
        .await
        .unwrap()[0]
        .message_id;
    store
        .claim_batch(&[row], account.id, "2026-11-25T10:00:00Z", &[])
        .await
        .unwrap();
    let why = conflict(store.delete_account(account.id, Actor::Cli).await);
    assert!(why.contains("still has 1 message(s) to send"), "{why}");
    store.recover_interrupted().await.unwrap();
    let why = conflict(store.delete_account(account.id, Actor::Cli).await);
    assert!(why.contains("1 unconfirmed message(s)"), "{why}");
    store
        .resolve_unconfirmed(ws, &[row], UnconfirmedChoice::MarkSent, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.polled_mailboxes().await.unwrap().len(), 1);

    // Now it goes, with its mailbox; the reply read through it stays.
    let removed = store.delete_account(account.id, Actor::Cli).await.unwrap();
    assert_eq!(removed.id, account.id);
    assert!(store.list_accounts(ws).await.unwrap().is_empty());
    assert!(matches!(
        store.account(account.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.mailbox(account.id).await.unwrap().is_none());
    assert!(store.polled_mailboxes().await.unwrap().is_empty());
    assert_eq!(store.reply(reply).await.unwrap().id, reply);
    assert!(matches!(
        store.delete_account(account.id, Actor::Cli).await,
        Err(StoreError::NotFound(_))
    ));
    // Its name is free for a new account.
    relay_account(&store, ws).await;

    // The draft in the trash comes back without the account it can no longer send from.
    let back = store
        .restore_campaign(draft_campaign.id, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(back.fields.account_id, None);
    assert_eq!(audited(&store, ws, "account.delete").await.len(), 1);
    store.close().await;
}

#[tokio::test]
async fn copies_of_an_ended_campaign_are_fresh_drafts_and_templates_copy_too() {
    use outreach_core::campaign::CampaignStatus;

    let (store, ws, _dir) = open().await;
    import(&store, ws, "email,first_name\nada@engines.example,Ada\n")
        .await
        .unwrap();
    let ids = prospect_ids(&store, ws).await;
    let (campaign, account, _) = running_launch(&store, ws, &ids).await;
    store
        .set_campaign_status(campaign.id, CampaignStatus::Stopped, Actor::Cli)
        .await
        .unwrap();

    let copy = store
        .copy_campaign(campaign.id, None, Actor::Cli)
        .await
        .unwrap();
    assert_ne!(copy.id, campaign.id);
    assert_eq!(copy.status, CampaignStatus::Draft);
    assert_eq!(copy.fields.name, "Copy of Launch");
    let same_but_name = outreach_core::campaign::CampaignFields {
        name: copy.fields.name.clone(),
        ..campaign.fields.clone()
    };
    assert_eq!(copy.fields, same_but_name);
    assert!(store.enrolments(copy.id).await.unwrap().is_empty());
    assert_eq!(store.enrolments(campaign.id).await.unwrap().len(), 1);

    // Another copy gets the next free name; a chosen name that is taken is refused.
    let again = store
        .copy_campaign(campaign.id, None, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(again.fields.name, "Copy of Launch (2)");
    let why = conflict(
        store
            .copy_campaign(campaign.id, Some("launch"), Actor::Cli)
            .await,
    );
    assert!(why.contains("already exists"), "{why}");
    let named = store
        .copy_campaign(campaign.id, Some("Launch, autumn"), Actor::Cli)
        .await
        .unwrap();
    assert_eq!(named.fields.name, "Launch, autumn");

    // Once its account is removed, a copy is left to choose another.
    for c in [copy.id, again.id, named.id] {
        store.delete_campaign(c, Actor::Cli).await.unwrap();
    }
    store
        .delete_campaign(campaign.id, Actor::Cli)
        .await
        .unwrap();
    store.delete_account(account.id, Actor::Cli).await.unwrap();
    store
        .restore_campaign(campaign.id, Actor::Cli)
        .await
        .unwrap();
    let orphan = store
        .copy_campaign(campaign.id, None, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(orphan.fields.account_id, None);
    assert_eq!(orphan.fields.name, "Copy of Launch");
    assert_eq!(audited(&store, ws, "campaign.create").await.len(), 5);

    // A template's copy has its subject and body, under the next free name.
    let first = store.template_by_name(ws, "first").await.unwrap();
    let variant = store
        .copy_template(first.id, None, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(
        (
            variant.name.as_str(),
            variant.subject.as_str(),
            variant.body.as_str()
        ),
        ("Copy of first", "Hi", "Hello")
    );
    assert_ne!(variant.id, first.id);
    let again = store
        .copy_template(first.id, None, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(again.name, "Copy of first (2)");
    let why = conflict(
        store
            .copy_template(first.id, Some("FIRST"), Actor::Cli)
            .await,
    );
    assert!(why.contains("already exists"), "{why}");

    // The list reads every campaign as reading each alone does, A/B variants in order.
    let mut fields = orphan.fields.clone();
    fields.steps[0].template_ids = vec![first.id, variant.id];
    fields.steps.push(outreach_core::campaign::Step {
        delay_business_days: 2,
        condition: outreach_core::campaign::StepCondition::NoReply,
        template_ids: vec![again.id],
    });
    let orphan = store
        .update_campaign(orphan.id, &fields, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(orphan.fields, fields);
    let listed = store.list_campaigns(ws).await.unwrap();
    let mut one_by_one = Vec::new();
    for c in &listed {
        one_by_one.push(store.campaign(c.id).await.unwrap());
    }
    assert_eq!(listed, one_by_one);
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        [orphan.id, campaign.id],
        "newest first, the trash left out"
    );
    store.close().await;
}

/// Runs `change` while another connection (another process: the app beside the CLI) holds
/// the write lock, and lets that connection run `statement` once `change` has had time to read
/// what it reads first and wait for the lock; returns what `change` returned.
async fn while_another_process_writes<T: Send + 'static>(
    path: &std::path::Path,
    key: &DbKey,
    statement: String,
    change: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    use sqlx::Connection;
    let mut other = raw_connection(path, key).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let change = tokio::spawn(change);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The tests' own statements, built from their ids.
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    change.await.unwrap()
}

/// [`while_another_process_writes`] setting the campaign's status to `status`.
async fn while_another_process_sets_status<T: Send + 'static>(
    path: &std::path::Path,
    key: &DbKey,
    campaign_id: i64,
    status: &str,
    change: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let statement = format!("UPDATE campaigns SET status = '{status}' WHERE id = {campaign_id}");
    while_another_process_writes(path, key, statement, change).await
}

#[tokio::test]
async fn a_reply_erased_while_a_change_waited_for_the_lock_is_not_found() {
    use outreach_core::reply::Intent;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    let store = Store::open(&path, &key).await.unwrap();
    let ws = new_workspace(&store, "Acme").await;
    import(&store, ws, "email\nada@engines.example\n")
        .await
        .unwrap();
    let ada = prospect_ids(&store, ws).await[0];
    let account = relay_account(&store, ws).await;
    let from = Sender {
        prospect_id: ada,
        address: "ada@engines.example",
        name: "Ada",
    };
    let mut replies = Vec::new();
    for (n, rfc) in ["q1@engines.example", "q2@engines.example"]
        .iter()
        .enumerate()
    {
        let uid = u32::try_from(n).unwrap() + 1;
        replies.push(
            reply_from(
                &store,
                ws,
                account.id,
                &from,
                (rfc, uid, "2026-11-25T10:00:00Z"),
                ("What do you pay?", Intent::Question),
                &[],
            )
            .await,
        );
    }
    let erase = |id: i64| format!("DELETE FROM replies WHERE id = {id}");

    // Opening an answer, or correcting the label, of a reply erased meanwhile: "not found",
    // as it would be had it been erased before, and nothing written.
    let open = {
        let store = store.clone();
        let id = replies[0];
        async move { store.open_draft(id).await }
    };
    let opened = while_another_process_writes(&path, &key, erase(replies[0]), open).await;
    assert!(matches!(opened, Err(StoreError::NotFound(_))), "{opened:?}");
    let relabel = {
        let store = store.clone();
        let id = replies[1];
        async move {
            store
                .relabel_reply(id, Intent::Interested, Actor::Cli)
                .await
        }
    };
    let relabelled = while_another_process_writes(&path, &key, erase(replies[1]), relabel).await;
    assert!(
        matches!(relabelled, Err(StoreError::NotFound(_))),
        "{relabelled:?}"
    );
    store.close().await;
}

#[tokio::test]
async fn a_change_waiting_for_the_write_lock_is_decided_on_the_status_it_finds_there() {
    use outreach_core::campaign::CampaignStatus;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    let store = Store::open(&path, &key).await.unwrap();
    let ws = new_workspace(&store, "Acme").await;
    import(&store, ws, "email\nada@engines.example\n")
        .await
        .unwrap();
    let ids = prospect_ids(&store, ws).await;
    let (campaign, _, _) = running_launch(&store, ws, &ids).await;
    let id = campaign.id;
    store
        .set_campaign_status(id, CampaignStatus::Paused, Actor::Cli)
        .await
        .unwrap();

    // An edit that saw a paused campaign never rewrites the sequence of one resumed since.
    let mut longer = campaign.fields.clone();
    longer.steps.push(longer.steps[0].clone());
    let edit = {
        let store = store.clone();
        async move { store.update_campaign(id, &longer, Actor::Cli).await }
    };
    let why = conflict(while_another_process_sets_status(&path, &key, id, "running", edit).await);
    assert!(
        why.contains("pause the campaign before changing it"),
        "{why}"
    );
    let now = store.campaign(id).await.unwrap();
    assert_eq!(now.status, CampaignStatus::Running);
    assert_eq!(now.fields.steps, campaign.fields.steps);

    // A pause that saw it running never reopens one the engine completed since.
    let pause = {
        let store = store.clone();
        async move {
            store
                .set_campaign_status(id, CampaignStatus::Paused, Actor::Cli)
                .await
        }
    };
    let why =
        conflict(while_another_process_sets_status(&path, &key, id, "completed", pause).await);
    assert!(
        why.contains("a completed campaign cannot be paused"),
        "{why}"
    );
    assert_eq!(
        store.campaign(id).await.unwrap().status,
        CampaignStatus::Completed
    );

    // Nobody is enrolled into a draft stopped while the enrolment waited.
    let mut fields = campaign.fields.clone();
    fields.name = "Second".into();
    let second = store
        .create_campaign(ws, &fields, Actor::Cli)
        .await
        .unwrap()
        .id;
    let enrol = {
        let store = store.clone();
        let ids = ids.clone();
        async move { store.enrol(second, &ids, Actor::Cli).await }
    };
    let why =
        conflict(while_another_process_sets_status(&path, &key, second, "stopped", enrol).await);
    assert!(why.contains("the campaign is stopped"), "{why}");
    let progress = store.campaign_progress(second).await.unwrap();
    assert_eq!(progress.enrolled, 0);
    store.close().await;
}

/// The summary of the workspace's newest audit entry of one action.
async fn last_summary(store: &Store, ws: i64, action: &str) -> String {
    audited(store, ws, action).await.remove(0).summary
}

/// How many of a campaign's enrolments are due, as the scheduler finds them.
async fn due_in(store: &Store, campaign_id: i64) -> usize {
    store
        .due_enrollments("2999-01-01T00:00:00Z", 100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.campaign_id == campaign_id)
        .count()
}

/// A prospect's last change, as the scheduler reads it before the gate decides.
async fn last_change(store: &Store, prospect_id: i64) -> String {
    store.prospect(prospect_id).await.unwrap().updated_at
}

/// Sends a queued message once and meets a 421: it waits for its retry, due at 12:05 on
/// 2026-11-25, as it was written. Returns it as claimed.
async fn tried_once(
    store: &Store,
    account_id: i64,
    message: i64,
) -> outreach_store::outbox::ClaimedMessage {
    let at = "2026-11-25T12:00:00.000Z";
    let claimed = store
        .claim_batch(&[message], account_id, at, &[])
        .await
        .unwrap()
        .remove(0);
    let retry = outreach_store::outbox::Outcome::Retry {
        error: "421 try later".into(),
        at: "2026-11-25T12:05:00.000Z".into(),
    };
    store
        .record_and_claim(account_id, at, &[(&claimed, &retry)], at, &[], &[])
        .await
        .unwrap();
    claimed
}

/// The account's messages the sender would choose at `now`, in its order.
async fn chosen_by_sender(store: &Store, account_id: i64, now: &str) -> Vec<i64> {
    store
        .claim_candidates(account_id, now, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.message_id)
        .collect()
}

/// A new database where Ada and Alan are enrolled in a running campaign ([`running_launch`]),
/// their first steps not yet written.
async fn ada_and_alan_launched() -> (
    Store,
    i64,
    tempfile::TempDir,
    (
        outreach_core::campaign::Campaign,
        outreach_core::campaign::SenderAccount,
        Vec<outreach_store::outbox::DueEnrollment>,
    ),
) {
    let (store, ws, dir) = open().await;
    import(
        &store,
        ws,
        "email\nada@engines.example\nalan@bletchley.example\n",
    )
    .await
    .unwrap();
    let ids = prospect_ids(&store, ws).await;
    let launched = running_launch(&store, ws, &ids).await;
    (store, ws, dir, launched)
}

/// Queues the first steps of [`running_launch`] as the scheduler writes them now; returns how
/// many were added.
async fn queue_first_steps(
    store: &Store,
    ws: i64,
    campaign: &outreach_core::campaign::Campaign,
    account: &outreach_core::campaign::SenderAccount,
    due: &[outreach_store::outbox::DueEnrollment],
) -> u32 {
    store
        .enqueue(&first_steps(store, ws, campaign, account, due).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_step_written_before_an_opt_out_a_pause_or_a_template_change_is_not_queued() {
    use outreach_core::campaign::CampaignStatus;
    // What the scheduler renders, it read a moment before; the write must not queue what
    // changed in between (the reply poller opting someone out, a person pausing or editing).
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    let template = campaign.fields.steps[0].template_ids[0];

    // Ada opts out while her first step is rendered: only Alan's is queued.
    let written = first_steps(&store, ws, &campaign, &account, &due).await;
    let ada = due[0].prospect_id;
    store.opt_out(ada, &[], "asked", Actor::Cli).await.unwrap();
    assert_eq!(store.enqueue(&written).await.unwrap(), 1);
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0].prospect_id, ada);
    let states = store.enrolment_steps(campaign.id).await.unwrap();
    assert!(states.iter().all(|e| !e.active), "{states:?}");

    // A template changed while its step was rendered: nothing queued, the step due again.
    let other = new_workspace(&store, "Beta").await;
    import(&store, other, "email\ngrace@navy.example\n")
        .await
        .unwrap();
    let (second, account, due) =
        running_launch(&store, other, &prospect_ids(&store, other).await).await;
    let second_template = second.fields.steps[0].template_ids[0];
    assert_ne!(second_template, template);
    let due: Vec<_> = due
        .into_iter()
        .filter(|e| e.campaign_id == second.id)
        .collect();
    let written = first_steps(&store, other, &second, &account, &due).await;
    // A change is told by the template's last-change time, kept to the millisecond.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .update_template(second_template, "first", "Hi", "Hello, fixed", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.enqueue(&written).await.unwrap(), 0);
    assert_eq!(due_in(&store, second.id).await, 1);

    // Paused while rendered: nothing queued, the step due again once it resumes.
    let written = first_steps(&store, other, &second, &account, &due).await;
    store
        .set_campaign_status(second.id, CampaignStatus::Paused, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.enqueue(&written).await.unwrap(), 0);
    assert!(
        store
            .list_messages(second.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .set_campaign_status(second.id, CampaignStatus::Running, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(due_in(&store, second.id).await, 1);
    // Written from what holds now, it is queued and waits for its send.
    let written = first_steps(&store, other, &second, &account, &due).await;
    assert_eq!(store.enqueue(&written).await.unwrap(), 1);
    assert_eq!(due_in(&store, second.id).await, 0);
    store.close().await;
}

#[tokio::test]
async fn pausing_takes_back_the_messages_never_tried_and_resuming_writes_them_again() {
    use outreach_core::campaign::{CampaignStatus, MessageStatus};
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    // Ada's was tried once and waits for a retry: the server may have seen it.
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    let tried = listed
        .iter()
        .find(|m| m.prospect_id == due[0].prospect_id)
        .unwrap()
        .id;
    tried_once(&store, account.id, tried).await;

    store
        .set_campaign_status(campaign.id, CampaignStatus::Paused, Actor::Cli)
        .await
        .unwrap();
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, tried);
    assert_eq!(listed[0].status, MessageStatus::Queued);
    assert_eq!(listed[0].attempts, 1);
    let said = last_summary(&store, ws, "campaign.pause").await;
    assert!(
        said.contains("1 queued message(s) taken back, to be written again when it resumes"),
        "{said}"
    );
    // Nothing is due while paused; Alan's step is once it resumes, at the time it had.
    assert_eq!(due_in(&store, campaign.id).await, 0);
    store
        .set_campaign_status(campaign.id, CampaignStatus::Running, Actor::Cli)
        .await
        .unwrap();
    let again = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].prospect_id, due[1].prospect_id);
    assert_eq!(again[0].next_position, 1);
    assert_eq!(again[0].next_run_at, due[1].next_run_at);
    store.close().await;
}

#[tokio::test]
async fn changing_a_template_takes_back_the_messages_written_from_it_never_tried() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    let template = store
        .template(campaign.fields.steps[0].template_ids[0])
        .await
        .unwrap();
    let other = store
        .create_template(ws, "unused", "Hi", "Hello", Actor::Cli)
        .await
        .unwrap();

    // A new name, or a template no campaign uses, leaves the outbox alone.
    let (_, rewritten) = store
        .update_template(template.id, "renamed", "Hi", "Hello", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(rewritten, 0);
    let (_, rewritten) = store
        .update_template(other.id, "unused", "Hi", "Hello, changed", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(rewritten, 0);
    assert_eq!(store.queued_count().await.unwrap(), 2);

    // A new text takes both back; their steps are due again, to be written from it.
    let (changed, rewritten) = store
        .update_template(
            template.id,
            "renamed",
            "Hi {{ first_name }}",
            "Hello",
            Actor::Cli,
        )
        .await
        .unwrap();
    assert_eq!(changed.subject, "Hi {{ first_name }}");
    assert_eq!(rewritten, 2);
    assert_eq!(store.queued_count().await.unwrap(), 0);
    assert_eq!(due_in(&store, campaign.id).await, 2);
    let said = last_summary(&store, ws, "template.update").await;
    assert!(
        said.contains("2 queued message(s) written from it taken back"),
        "{said}"
    );
    store.close().await;
}

#[tokio::test]
async fn a_change_to_an_account_removed_while_it_waited_for_the_write_lock_is_refused() {
    use outreach_core::inbox::{MailboxAuth, MailboxFields, MailboxSecurity};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    let store = Store::open(&path, &key).await.unwrap();
    let ws = new_workspace(&store, "Acme").await;
    let removed = |id: i64| {
        format!(
            "UPDATE sender_accounts SET deleted_at = '2026-12-07T00:00:00.000Z' WHERE id = {id}"
        )
    };
    let mut fields = relay_fields();
    let mut account = |name: &str| {
        fields.name = name.into();
        let (store, fields) = (store.clone(), fields.clone());
        async move { store.create_account(ws, &fields, Actor::Cli).await.unwrap() }
    };

    // Its settings: not changed, nor audited as changed.
    let a = account("first").await;
    let mut renamed = a.fields.clone();
    renamed.name = "renamed".into();
    let edit = {
        let store = store.clone();
        async move { store.update_account(a.id, &renamed, Actor::Cli).await }
    };
    let r = while_another_process_writes(&path, &key, removed(a.id), edit).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert!(audited(&store, ws, "account.update").await.is_empty());

    // Its reply mailbox: not stored for a removed account.
    let b = account("second").await;
    let mailbox = MailboxFields {
        host: "127.0.0.1".into(),
        port: Some(1143),
        security: MailboxSecurity::PlainLoopback,
        username: "alex".into(),
        auth: MailboxAuth::Password,
        mailbox: "INBOX".into(),
        enabled: true,
    };
    let set = {
        let store = store.clone();
        async move { store.set_mailbox(b.id, &mailbox, Actor::Cli).await }
    };
    let r = while_another_process_writes(&path, &key, removed(b.id), set).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert_eq!(store.mailbox(b.id).await.unwrap(), None);
    assert!(audited(&store, ws, "account.mailbox").await.is_empty());

    // Its keychain flags: refused, so that the caller takes back what it put there.
    let r = store.set_account_secret_flags(b.id, true, true).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    store.close().await;
}

#[tokio::test]
async fn a_new_address_time_zone_or_consent_rule_takes_back_what_was_written_under_the_old() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    let queue_again = || async {
        store
            .enqueue(&first_steps(&store, ws, &campaign, &account, &due).await)
            .await
            .unwrap();
        assert_eq!(store.queued_count().await.unwrap(), 2);
    };
    queue_again().await;
    let current = store.workspace(ws).await.unwrap();
    let mut fields = WorkspaceFields {
        name: current.name.clone(),
        postal_address: current.postal_address.clone(),
        legal_notice: current.legal_notice.clone(),
    };

    // Saved unchanged: the outbox stays.
    store
        .update_workspace(ws, &fields, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.queued_count().await.unwrap(), 2);
    // A new address is in every message: both are written again.
    fields.postal_address = "Acme GmbH, 2 New Street, 10115 Berlin".into();
    let (_, rewritten) = store
        .update_workspace(ws, &fields, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(rewritten, 2);
    assert_eq!(store.queued_count().await.unwrap(), 0);
    assert_eq!(due_in(&store, campaign.id).await, 2);
    let said = last_summary(&store, ws, "workspace.update").await;
    assert!(said.contains("2 queued message(s) taken back"), "{said}");

    // Sending settings saved: how many queued messages they took back, and all were.
    let saved = |settings: outreach_core::campaign::SendingSettings| {
        let store = &store;
        async move {
            let n = store
                .set_sending_settings(ws, &settings, Actor::Cli)
                .await
                .unwrap();
            assert_eq!(store.queued_count().await.unwrap(), 2 - n);
            n
        }
    };
    // A country that now needs consent: the gate decides again for what was queued.
    queue_again().await;
    let mut settings = store.sending_settings(ws).await.unwrap();
    assert_eq!(saved(settings.clone()).await, 0, "nothing changed");
    settings.consent_only_countries.push("GB".into());
    assert_eq!(saved(settings.clone()).await, 2);
    assert_eq!(due_in(&store, campaign.id).await, 2);

    // A new one-click unsubscribe URL: the visible opt-out line names it, so what was
    // written with the old one is written again.
    queue_again().await;
    settings.unsubscribe_url = Some("https://optout.acme.example/u".into());
    assert_eq!(saved(settings).await, 2);
    assert_eq!(due_in(&store, campaign.id).await, 2);
    store.close().await;
}

#[tokio::test]
async fn a_prospect_moved_to_the_trash_gets_nothing_queued_and_goes_on_once_restored() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    let written = first_steps(&store, ws, &campaign, &account, &due).await;
    let (ada, alan) = (&due[0], &due[1]);

    // Ada goes to the trash while the steps are rendered: only Alan's is queued (her step
    // is due again, and meets the gate).
    store
        .set_prospects_deleted(ws, &[ada.prospect_id], false, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.enqueue(&written).await.unwrap(), 1);
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].prospect_id, alan.prospect_id);

    // Restored, then in the trash again with her step queued: it is taken back.
    store
        .set_prospects_deleted(ws, &[ada.prospect_id], true, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.enqueue(&written).await.unwrap(), 1);
    assert_eq!(store.queued_count().await.unwrap(), 2);
    store
        .set_prospects_deleted(ws, &[ada.prospect_id], false, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.queued_count().await.unwrap(), 1);
    let said = last_summary(&store, ws, "prospect.delete").await;
    assert!(
        said.ends_with("; 1 queued message(s) to them taken back"),
        "{said}"
    );
    // Due again, her step meets the gate, which refuses a prospect in the trash.
    assert_eq!(due_in(&store, campaign.id).await, 1);
    let again = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    let seen = last_change(&store, ada.prospect_id).await;
    assert!(
        store
            .block_enrollment(
                ws,
                &again[0],
                Some(&seen),
                "deleted",
                "the prospect was deleted or erased",
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.campaign_progress(campaign.id).await.unwrap().blocked,
        1
    );

    // Restoring her lets her sequence go on where it stood; the refusal no longer counts.
    store
        .set_prospects_deleted(ws, &[ada.prospect_id], true, Actor::Cli)
        .await
        .unwrap();
    let said = last_summary(&store, ws, "prospect.restore").await;
    assert!(said.ends_with("; 1 sequence(s) go on"), "{said}");
    let again = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].prospect_id, ada.prospect_id);
    assert_eq!(again[0].next_position, 1);
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.blocked, progress.queued), (0, 1));
    store.close().await;
}

#[tokio::test]
async fn a_message_waiting_for_a_retry_is_held_while_its_prospect_is_in_the_trash() {
    use outreach_store::outbox::Outcome;
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
    let to = |prospect: i64| {
        listed
            .iter()
            .find(|m| m.prospect_id == prospect)
            .unwrap()
            .id
    };
    let (ada, alan) = (to(due[0].prospect_id), to(due[1].prospect_id));
    // Ada's was tried once and waits for a retry: it is kept as written (the server may have
    // seen its Message-ID), so moving her to the trash does not take it back.
    let written = tried_once(&store, account.id, ada).await;
    store
        .set_prospects_deleted(ws, &[due[0].prospect_id], false, Actor::Cli)
        .await
        .unwrap();

    // Held: the sender neither chooses nor claims it, and nothing waits on it.
    let later = "2999-01-01T00:00:00.000Z";
    assert_eq!(
        chosen_by_sender(&store, account.id, later).await,
        vec![alan]
    );
    assert!(
        store
            .claim_batch(&[ada], account.id, later, &[])
            .await
            .unwrap()
            .is_empty(),
        "a message to a prospect in the trash is not claimed"
    );
    let sent = store
        .claim_batch(&[alan], account.id, later, &[])
        .await
        .unwrap();
    let accepted = Outcome::Sent {
        response: "250 ok".into(),
    };
    store
        .record_and_claim(account.id, later, &[(&sent[0], &accepted)], later, &[], &[])
        .await
        .unwrap();
    assert_eq!(store.queued_count().await.unwrap(), 0);
    assert!(store.queued_groups().await.unwrap().is_empty());
    assert!(store.accounts_with_queued().await.unwrap().is_empty());
    assert_eq!(
        store.queued_due_before(campaign.id, later).await.unwrap(),
        0
    );
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.queued, progress.held), (1, 1));
    assert_eq!(progress.next_send_at, None);

    // Restored, she gets it as it was written.
    store
        .set_prospects_deleted(ws, &[due[0].prospect_id], true, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(chosen_by_sender(&store, account.id, later).await, vec![ada]);
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!(progress.held, 0);
    assert_eq!(
        progress.next_send_at.as_deref(),
        Some("2026-11-25T12:05:00.000Z")
    );
    let again = store
        .claim_batch(&[ada], account.id, later, &[])
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].message_id, written.message_id);
    store.close().await;
}

#[tokio::test]
async fn a_refusal_read_before_a_change_does_not_end_the_sequence() {
    let (store, ws, _dir, (campaign, _account, due)) = ada_and_alan_launched().await;
    let (ada, alan) = (&due[0], &due[1]);
    let block = |e: &outreach_store::outbox::DueEnrollment, seen: String| {
        let store = &store;
        let e = e.clone();
        async move {
            store
                .block_enrollment(ws, &e, Some(&seen), "deleted", "in the trash")
                .await
                .unwrap()
        }
    };

    // The gate reads Ada in the trash; she is restored before its refusal is written (an
    // undo right after a delete): the refusal would end her sequence for good.
    store
        .set_prospects_deleted(ws, &[ada.prospect_id], false, Actor::Cli)
        .await
        .unwrap();
    let seen = last_change(&store, ada.prospect_id).await;
    // A change is told by its time to the millisecond; no person undoes within one.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .set_prospects_deleted(ws, &[ada.prospect_id], true, Actor::Cli)
        .await
        .unwrap();
    assert!(!block(ada, seen).await);

    // Alan opts out while his refusal is on its way: he stays stopped, not blocked.
    let seen = last_change(&store, alan.prospect_id).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .opt_out(alan.prospect_id, &[], "asked by phone", Actor::Cli)
        .await
        .unwrap();
    assert!(!block(alan, seen).await);

    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!(progress.blocked, 0);
    assert_eq!(
        due_in(&store, campaign.id).await,
        1,
        "Ada's step is still due"
    );
    let alans = store.prospect_enrolments(alan.prospect_id).await.unwrap();
    assert_eq!(alans[0].state.as_str(), "stopped");
    store.close().await;
}

#[tokio::test]
async fn what_a_reimport_fills_in_reaches_the_messages_waiting_for_them() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    assert_eq!(
        queue_first_steps(&store, ws, &campaign, &account, &due).await,
        2
    );
    let (ada, alan) = (due[0].prospect_id, due[1].prospect_id);
    let before = last_change(&store, alan).await;

    // The enriched export brings Ada's first name and a first line for her; Alan's row
    // brings nothing new.
    let report = import(
        &store,
        ws,
        "email,first_name,first_line\nada@engines.example,Ada,Loved your post\nalan@bletchley.example,,\n",
    )
    .await
    .unwrap();
    assert_eq!(report.merged, 2);
    assert_eq!(
        report.notes,
        [
            "1 message(s) waiting to go to prospects this file filled in will be written again with what it added"
        ]
    );
    assert_eq!(store.queued_count().await.unwrap(), 1);
    let waiting = store.list_messages(campaign.id, None, 10).await.unwrap();
    assert_eq!(waiting[0].prospect_id, alan);
    let again = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|e| (e.prospect_id, e.next_position))
            .collect::<Vec<_>>(),
        [(ada, 1)]
    );
    assert_eq!(last_change(&store, alan).await, before);
    let said = last_summary(&store, ws, "prospects.import").await;
    assert!(
        said.ends_with(
            "; 1 queued message(s) to those it filled in taken back, to be written again"
        ),
        "{said}"
    );

    // The same file again fills nothing: what waits stays.
    queue_first_steps(&store, ws, &campaign, &account, &again).await;
    import(
        &store,
        ws,
        "email,first_name,first_line\nada@engines.example,Ada,Loved your post\n",
    )
    .await
    .unwrap();
    assert_eq!(store.queued_count().await.unwrap(), 2);
    store.close().await;
}

#[tokio::test]
async fn an_opt_out_or_erasure_stops_what_waits_for_the_same_address_in_other_workspaces() {
    use outreach_store::consent::SuppressionEntry;

    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    assert_eq!(
        queue_first_steps(&store, ws, &campaign, &account, &due).await,
        2
    );
    let (ada, alan) = (due[0].prospect_id, due[1].prospect_id);
    // Another client's workspace has Ada too, and opts her out on her request there.
    let other = new_workspace(&store, "Beta").await;
    import(&store, other, "email\nada@engines.example\n")
        .await
        .unwrap();
    let ada_there = prospect_ids(&store, other).await[0];
    let email = [SuppressionEntry {
        hash: "hash-of-ada".into(),
        kind: "email",
    }];
    store
        .opt_out(ada_there, &email, "asked by phone", Actor::Cli)
        .await
        .unwrap();

    // Her address is on the install's suppression list: what waited for her here goes no
    // further, and the campaign shows her as blocked for it.
    let messages = store.list_messages(campaign.id, None, 10).await.unwrap();
    let status = |who: i64| {
        let m = messages.iter().find(|m| m.prospect_id == who).unwrap();
        (m.status.as_str(), m.last_error.clone())
    };
    assert_eq!(
        status(ada),
        (
            "cancelled",
            Some("the address is on the suppression list".into())
        )
    );
    assert_eq!(status(alan), ("queued", None));
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.queued, progress.blocked), (1, 1));
    assert_eq!(progress.blocked_reasons[0].code, "suppressed");
    let said = last_summary(&store, ws, "send.blocked").await;
    assert!(
        said.contains(
            "(a request elsewhere): 1 queued message(s) cancelled, 1 sequence(s) blocked"
        ),
        "{said}"
    );
    assert!(!said.contains("Beta"), "{said}");
    assert_eq!(due_in(&store, campaign.id).await, 0);

    // Erasing someone at their request does the same for their address elsewhere.
    import(&store, other, "email\nalan@bletchley.example\n")
        .await
        .unwrap();
    let alan_there = store
        .list_prospects(&query(other))
        .await
        .unwrap()
        .rows
        .into_iter()
        .find(|p| p.email.as_deref() == Some("alan@bletchley.example"))
        .unwrap()
        .id;
    let email = [SuppressionEntry {
        hash: "hash-of-alan".into(),
        kind: "email",
    }];
    store
        .erase_prospects(other, &[alan_there], &email, Actor::Cli)
        .await
        .unwrap();
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.queued, progress.blocked), (0, 2));
    store.close().await;
}

#[tokio::test]
async fn an_unconfirmed_message_is_not_sent_again_to_someone_who_opted_out_since() {
    use outreach_core::campaign::{CampaignStatus, UnconfirmedChoice};
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    assert_eq!(
        queue_first_steps(&store, ws, &campaign, &account, &due).await,
        2
    );
    let (ada, alan) = (due[0].prospect_id, due[1].prospect_id);
    // Both were on the wire when the app was killed.
    let now = "2999-01-01T00:00:00Z";
    let rows = chosen_by_sender(&store, account.id, now).await;
    let claimed = store
        .claim_batch(&rows, account.id, now, &[])
        .await
        .unwrap();
    assert_eq!(store.recover_interrupted().await.unwrap(), 2);
    let id_to = |who: i64| claimed.iter().find(|m| m.prospect_id == who).unwrap().id;
    let resend = |ids: Vec<i64>| {
        let store = store.clone();
        async move {
            store
                .resolve_unconfirmed(ws, &ids, UnconfirmedChoice::Resend, Actor::Cli)
                .await
        }
    };
    let unconfirmed = || async {
        let listed = store.list_messages(campaign.id, None, 10).await.unwrap();
        listed
            .iter()
            .filter(|m| m.status.as_str() == "unconfirmed")
            .count()
    };

    // Ada opts out before anyone decides: sending hers again is refused, and so is the whole
    // decision (nothing changes); Alan's can go.
    store
        .opt_out(ada, &[], "asked by phone", Actor::Cli)
        .await
        .unwrap();
    let why = conflict(resend(vec![id_to(alan), id_to(ada)]).await);
    assert!(
        why.contains("cannot be sent again: the prospect opted out"),
        "{why}"
    );
    assert_eq!(unconfirmed().await, 2);
    assert_eq!(resend(vec![id_to(alan)]).await.unwrap(), 1);
    // Hers can still be told apart: it went out before the opt-out, or never did.
    assert_eq!(
        store
            .resolve_unconfirmed(ws, &[id_to(ada)], UnconfirmedChoice::Cancel, Actor::Cli)
            .await
            .unwrap(),
        1
    );

    // A message of a campaign stopped since stays where it is rather than wait forever.
    let claimed = store
        .claim_batch(&[id_to(alan)], account.id, now, &[])
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store.recover_interrupted().await.unwrap();
    store
        .set_campaign_status(campaign.id, CampaignStatus::Stopped, Actor::Cli)
        .await
        .unwrap();
    let why = conflict(resend(vec![id_to(alan)]).await);
    assert!(why.contains("its campaign was stopped"), "{why}");
    assert_eq!(unconfirmed().await, 1);
    store.close().await;
}

#[tokio::test]
async fn a_status_set_for_many_reaches_the_messages_waiting_for_them() {
    use outreach_core::prospect::ProspectStatus;
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    assert_eq!(
        queue_first_steps(&store, ws, &campaign, &account, &due).await,
        2
    );
    let ada = due[0].prospect_id;
    // Ada said on the phone she is not interested: her waiting step is written and checked
    // again with that (a follow-up only if no reply yet ends there), as an edit of her would.
    let change = store
        .set_prospects_status(ws, &[ada], ProspectStatus::NotInterested, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(change.changed.len(), 1);
    assert_eq!(store.queued_count().await.unwrap(), 1);
    assert_eq!(due_in(&store, campaign.id).await, 1);
    let said = last_summary(&store, ws, "prospects.status").await;
    assert!(
        said.ends_with("; 1 queued message(s) to them taken back, to be written again"),
        "{said}"
    );
    store.close().await;
}

#[tokio::test]
async fn blocked_people_meet_the_gate_again_once_the_cause_is_fixed() {
    use outreach_core::campaign::CampaignStatus;
    let (store, ws, _dir, (campaign, _account, due)) = ada_and_alan_launched().await;
    // The gate refused Ada because the workspace had no legitimate-interest assessment yet,
    // and Alan because his address is suppressed, which is for good.
    for (e, code) in due.iter().zip(["no_assessment", "suppressed"]) {
        let seen = last_change(&store, e.prospect_id).await;
        assert!(
            store
                .block_enrollment(ws, e, Some(&seen), code, code)
                .await
                .unwrap()
        );
    }
    assert_eq!(due_in(&store, campaign.id).await, 0);
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.blocked, progress.blocked_to_check_again), (2, 1));

    // Recorded since: Ada goes on at the step she was refused, and her refusal no longer
    // counts (the gate lists again whom it still refuses); Alan stays blocked.
    assert_eq!(
        store.retry_blocked(campaign.id, Actor::Cli).await.unwrap(),
        1
    );
    let progress = store.campaign_progress(campaign.id).await.unwrap();
    assert_eq!((progress.blocked, progress.active), (1, 1));
    assert_eq!(progress.blocked_to_check_again, 0);
    assert_eq!(progress.blocked_reasons[0].code, "suppressed");
    let again = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].prospect_id, due[0].prospect_id);
    let said = last_summary(&store, ws, "campaign.retry_blocked").await;
    assert!(
        said.ends_with("1 blocked enrolment(s) checked again by the compliance gate"),
        "{said}"
    );
    assert_eq!(
        store.retry_blocked(campaign.id, Actor::Cli).await.unwrap(),
        0
    );

    // A stopped campaign sends nothing more.
    store
        .set_campaign_status(campaign.id, CampaignStatus::Stopped, Actor::Cli)
        .await
        .unwrap();
    let why = conflict(store.retry_blocked(campaign.id, Actor::Cli).await);
    assert!(
        why.contains("a stopped campaign sends nothing more"),
        "{why}"
    );
    store.close().await;
}

/// Of a campaign's two queued messages, only `prospect`'s was taken back: the other stays
/// queued, and only their enrolment is due again at its step.
async fn assert_taken_back_alone(store: &Store, campaign_id: i64, prospect: i64) {
    let listed = store.list_messages(campaign_id, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0].prospect_id, prospect);
    let again = store
        .due_enrollments("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].prospect_id, prospect);
}

#[tokio::test]
async fn a_prospects_corrected_details_reach_the_message_still_waiting_for_them() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    let ada = due[0].prospect_id;
    let patch = ProspectPatch {
        email: Some("ada@analytical.example".into()),
        ..Default::default()
    };
    let (_, rewritten) = store
        .update_prospect(ada, &patch, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(rewritten, 1, "the edit says how many");
    // Saved again unchanged: nothing more to take back.
    assert_eq!(
        store
            .update_prospect(ada, &patch, Actor::Cli)
            .await
            .unwrap()
            .1,
        0
    );
    // Hers was written to the old address: taken back, her step due again.
    assert_taken_back_alone(&store, campaign.id, ada).await;
    let said = last_summary(&store, ws, "prospect.update").await;
    assert!(
        said.ends_with("; 1 queued message(s) to them taken back, to be written again"),
        "{said}"
    );
    store.close().await;
}

#[tokio::test]
async fn a_new_score_reaches_the_message_still_waiting() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    let (ada, alan) = (due[0].prospect_id, due[1].prospect_id);
    let scored = |ada_score: u8| {
        [(ada, ada_score), (alan, 80)].map(|(id, total)| outreach_store::prospects::ScoreUpdate {
            id,
            breakdown: outreach_core::scoring::ScoreBreakdown {
                total,
                threshold: 70,
                qualified: true,
                factors: Vec::new(),
            },
            status: None,
        })
    };
    // Nothing waits yet: nothing to take back.
    let taken = store
        .apply_scores(ws, &scored(80), "Scored 2", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(taken, 0);
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    // A template can say `{% if score >= 85 %}`: Ada's message, written from her old score, is
    // taken back; Alan's score is unchanged and his message stays.
    let taken = store
        .apply_scores(ws, &scored(90), "Scored 2", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(taken, 1, "scoring says how many");
    assert_taken_back_alone(&store, campaign.id, ada).await;
    let said = last_summary(&store, ws, "prospects.score").await;
    assert!(
        said.ends_with(
            "; 1 queued message(s) to those whose score changed taken back, to be written again"
        ),
        "{said}"
    );
    store.close().await;
}

#[tokio::test]
async fn a_new_sender_name_reaches_the_messages_still_waiting() {
    let (store, ws, _dir, (campaign, account, due)) = ada_and_alan_launched().await;
    queue_first_steps(&store, ws, &campaign, &account, &due).await;
    // New caps leave what was written alone.
    let mut fields = account.fields.clone();
    fields.daily_cap = Some(100);
    let (_, rewritten) = store
        .update_account(account.id, &fields, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(rewritten, 0);
    assert_eq!(store.queued_count().await.unwrap(), 2);
    // The sender's name is in every message: both are written again.
    fields.from_name = "Alex from Brand".into();
    let (_, rewritten) = store
        .update_account(account.id, &fields, Actor::Cli)
        .await
        .unwrap();
    assert_eq!(rewritten, 2);
    assert_eq!(store.queued_count().await.unwrap(), 0);
    assert_eq!(due_in(&store, campaign.id).await, 2);
    let said = last_summary(&store, ws, "account.update").await;
    assert!(
        said.ends_with("; 2 queued message(s) taken back, to be written again from the new sender"),
        "{said}"
    );
    store.close().await;
}

#[tokio::test]
async fn what_is_typed_in_a_template_editor_is_kept_until_saved_or_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let key = DbKey::generate();
    let store = Store::open(&path, &key).await.unwrap();
    let ws = new_workspace(&store, "Acme").await;
    let other = new_workspace(&store, "Other").await;
    let first = store
        .create_template(ws, "first", "Hello", "Hi there", Actor::Cli)
        .await
        .unwrap();
    assert_eq!(store.template_draft(ws, None).await.unwrap(), None);

    // A new template and an existing one are kept apart; keeping again replaces.
    store
        .save_template_draft(ws, None, "Intro", "A partnership", "Hello")
        .await
        .unwrap();
    let new = store
        .save_template_draft(ws, None, "Intro", "A partnership", "Hello {{ first_name }}")
        .await
        .unwrap();
    let edit = store
        .save_template_draft(ws, Some(first.id), "first", "Hello again", "Hi there")
        .await
        .unwrap();
    assert_eq!(new.template_id, None);
    assert_eq!(edit.template_id, Some(first.id));
    assert_eq!(store.template_draft(other, None).await.unwrap(), None);
    // Nothing of it reaches the template, nor the audit log.
    assert_eq!(store.template(first.id).await.unwrap().subject, "Hello");
    assert!(audited(&store, ws, "template.update").await.is_empty());

    // A crash: the database opens again with both.
    store.close().await;
    let store = Store::open(&path, &key).await.unwrap();
    assert_eq!(store.template_draft(ws, None).await.unwrap(), Some(new));
    assert_eq!(
        store.template_draft(ws, Some(first.id)).await.unwrap(),
        Some(edit)
    );

    // Only for a template of the workspace that is not in the trash; nothing changes else.
    for (w, t) in [
        (other, Some(first.id)),
        (ws, Some(first.id + 100)),
        (ws + 100, None),
    ] {
        assert!(
            matches!(
                store.save_template_draft(w, t, "x", "y", "z").await,
                Err(StoreError::NotFound(_))
            ),
            "{w} {t:?}"
        );
    }
    let huge = "x".repeat(200_001);
    assert!(matches!(
        store
            .save_template_draft(ws, None, "Intro", "", &huge)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.template_draft(ws, None).await.unwrap().unwrap().body,
        "Hello {{ first_name }}"
    );

    // Given up: forgotten, once.
    assert!(store.discard_template_draft(ws, None).await.unwrap());
    assert!(!store.discard_template_draft(ws, None).await.unwrap());
    assert_eq!(store.template_draft(ws, None).await.unwrap(), None);
    assert!(
        store
            .template_draft(ws, Some(first.id))
            .await
            .unwrap()
            .is_some()
    );
    store.close().await;
}
