//! The files backend driven without D-Bus: reloads into an in-memory store.

use super::*;
use crate::backend::store::MemStore;
use crate::sbus::{EntryType, Filter};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct Count(AtomicUsize);

impl ReloadNotifier for Count {
    fn reloaded(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn backend(dir: &std::path::Path) -> (FilesBackend, Arc<MemStore>, Arc<Count>) {
    let text = format!(
        "[sssd]\ndomains = F\n[domain/F]\nid_provider = files\npasswd_files = {0}/passwd\n\
         group_files = {0}/group\n",
        dir.display()
    );
    let cfg = crate::config::Config::parse(&text, "t.conf").expect("parses");
    let dom = DomainOptions::from_config(&cfg, "F").expect("dom");
    let opts = FilesOptions::from_config(&cfg, "F").expect("opts");
    let store = Arc::new(MemStore::default());
    let b = FilesBackend::new(&dom, opts, store.clone());
    let count = Arc::new(Count::default());
    b.set_notifier(count.clone());
    (b, store, count)
}

#[tokio::test]
async fn reload_applies_changes_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let (p, g) = (dir.path().join("passwd"), dir.path().join("group"));
    std::fs::write(&p, "root:x:0:0::/root:/bin/sh\nalice:x:10:10::/h:/bin/sh\n").expect("w");
    std::fs::write(&g, "staff:x:50:alice\n").expect("w");
    let (b, store, count) = backend(dir.path());
    assert!(b.reload().await.expect("first"));
    assert!(!b.reload().await.expect("same"));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let d = store.snapshot();
    assert!(d.users.contains_key("alice") && !d.users.contains_key("root"));
    assert_eq!(
        d.initgroups.get("alice").map(|x| x.0.clone()),
        Some(vec![50])
    );
    std::fs::write(&p, "bob:x:11:11::/h:/bin/sh\nbroken\n").expect("w");
    assert!(b.reload().await.expect("changed"));
    let d = store.snapshot();
    assert!(!d.users.contains_key("alice") && d.users.contains_key("bob"));
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn requests_wait_for_the_first_load_and_then_answer_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("passwd"), "alice:x:10:10::/h:/bin/sh\n").expect("w");
    let (b, store, _) = backend(dir.path());
    let req = AccountRequest {
        dp_flags: 0,
        entry_type: EntryType::User,
        filter: Filter::Name("nobody-here".into()),
        domain: "F".into(),
        extra: String::new(),
        cli_id: 0,
    };
    let run = tokio::spawn(b.clone().run());
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), b.handle(req.clone()))
        .await
        .expect("answered");
    assert_eq!(r, DpReply::ok());
    assert!(store.snapshot().users.contains_key("alice"));
    let t = std::time::Instant::now();
    assert_eq!(b.handle(req).await, DpReply::ok());
    assert!(t.elapsed() < std::time::Duration::from_millis(100));
    run.abort();
}
