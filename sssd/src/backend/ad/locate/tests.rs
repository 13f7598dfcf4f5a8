use super::*;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

const DOMAIN: &str = "corp.example.com";

fn srv(target: &str, priority: u16) -> Srv {
    Srv {
        priority,
        weight: 0,
        port: 389,
        target: target.to_string(),
        ttl: 600,
    }
}

fn info(client_site: &str, forest: &str) -> NetlogonInfo {
    NetlogonInfo {
        flags: 0,
        forest: forest.into(),
        domain: DOMAIN.into(),
        dc_host: "dc1.corp.example.com".into(),
        netbios_domain: "CORP".into(),
        netbios_host: "DC1".into(),
        dc_site: "HQ".into(),
        client_site: client_site.into(),
        next_closest_site: String::new(),
        domain_guid: [0; 16],
    }
}

/// DNS from a table; pings answered from a table after a delay (unlisted hosts fail).
#[derive(Default)]
struct Fake {
    records: HashMap<String, Vec<Srv>>,
    answers: HashMap<String, (Duration, Result<NetlogonInfo, String>)>,
    /// (name list asked, answered) per SRV lookup.
    asked: Mutex<Vec<Vec<String>>>,
    /// (host, when) per ping.
    pinged: Mutex<Vec<(String, Instant)>>,
}

impl Fake {
    fn with_srv(mut self, name: &str, hosts: &[&str]) -> Fake {
        self.records
            .insert(name.into(), hosts.iter().map(|h| srv(h, 0)).collect());
        self
    }

    fn answering(mut self, host: &str, after: Duration, r: Result<NetlogonInfo, String>) -> Fake {
        self.answers.insert(host.into(), (after, r));
        self
    }

    fn pinged(&self) -> Vec<String> {
        self.pinged
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.0.clone())
            .collect()
    }
}

impl Locator for Fake {
    async fn srv(&self, names: &[String]) -> Result<(String, Vec<Srv>), DnsError> {
        self.asked.lock().unwrap().push(names.to_vec());
        for n in names {
            if let Some(r) = self.records.get(n) {
                return Ok((n.clone(), r.clone()));
            }
        }
        Err(DnsError::NotFound(names.to_vec()))
    }

    async fn ping(&self, host: &str, _port: u16, _domain: &str) -> Result<NetlogonInfo, String> {
        self.pinged
            .lock()
            .unwrap()
            .push((host.into(), Instant::now()));
        match self.answers.get(host) {
            Some((after, r)) => {
                tokio::time::sleep(*after).await;
                r.clone()
            }
            None => Err(format!("{host}: refused")),
        }
    }
}

fn opts(ad_site: Option<&str>, cached_site: Option<&str>) -> LocateOptions {
    LocateOptions {
        ad_site: ad_site.map(Into::into),
        cached_site: cached_site.map(Into::into),
        op_timeout: Duration::from_secs(3),
    }
}

fn hosts(l: &DcLocation) -> Vec<&str> {
    l.servers.iter().map(|s| s.host.as_str()).collect()
}

fn whole() -> String {
    domain_srv_name(DOMAIN)
}

fn site(s: &str) -> String {
    site_srv_name(s, DOMAIN)
}

#[tokio::test]
async fn the_client_site_s_dcs_come_first_without_duplicates() {
    let fake = Fake::default()
        .with_srv(
            &whole(),
            &[
                "dc1.corp.example.com",
                "dc2.corp.example.com",
                "dc3.corp.example.com",
            ],
        )
        .with_srv(&site("Branch"), &["dc3.corp.example.com"])
        .answering(
            "dc1.corp.example.com",
            Duration::ZERO,
            Ok(info("Branch", DOMAIN)),
        );
    let l = locate(&fake, DOMAIN, &opts(None, None)).await.unwrap();
    assert_eq!(l.site.as_deref(), Some("Branch"));
    assert_eq!(l.forest.as_deref(), Some(DOMAIN));
    assert_eq!(
        hosts(&l),
        [
            "dc3.corp.example.com",
            "dc1.corp.example.com",
            "dc2.corp.example.com"
        ]
    );
    assert_eq!(l.primaries, 1);
    // The ping round asked the domain, then the site with the domain as fallback, then the
    // domain for the backups.
    assert_eq!(
        *fake.asked.lock().unwrap(),
        vec![vec![whole()], vec![site("Branch"), whole()], vec![whole()]]
    );
}

#[tokio::test]
async fn a_site_without_srv_records_falls_back_to_the_domain() {
    let fake = Fake::default()
        .with_srv(&whole(), &["dc1.corp.example.com", "dc2.corp.example.com"])
        .answering(
            "dc2.corp.example.com",
            Duration::ZERO,
            Ok(info("Empty", DOMAIN)),
        );
    let l = locate(&fake, DOMAIN, &opts(None, None)).await.unwrap();
    assert_eq!(l.site.as_deref(), Some("Empty"));
    assert_eq!(hosts(&l), ["dc1.corp.example.com", "dc2.corp.example.com"]);
    assert_eq!(l.primaries, 2);
    // No second lookup of the domain for backups: they were the answer.
    assert_eq!(fake.asked.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn without_an_answering_dc_the_domain_s_dcs_are_used() {
    let fake = Fake::default().with_srv(&whole(), &["dc1.corp.example.com"]);
    let l = locate(&fake, DOMAIN, &opts(None, None)).await.unwrap();
    assert_eq!((&l.site, &l.forest, &l.netlogon), (&None, &None, &None));
    assert_eq!(hosts(&l), ["dc1.corp.example.com"]);
}

#[tokio::test]
async fn ad_site_overrides_the_site_the_dc_names() {
    let fake = Fake::default()
        .with_srv(&whole(), &["dc1.corp.example.com", "dc2.corp.example.com"])
        .with_srv(&site("HQ"), &["dc2.corp.example.com"])
        .answering(
            "dc1.corp.example.com",
            Duration::ZERO,
            Ok(info("Branch", "example.com")),
        );
    let l = locate(&fake, DOMAIN, &opts(Some("HQ"), None))
        .await
        .unwrap();
    assert_eq!(l.site.as_deref(), Some("HQ"));
    assert_eq!(l.forest.as_deref(), Some("example.com"));
    assert_eq!(hosts(&l), ["dc2.corp.example.com", "dc1.corp.example.com"]);
    // The site's DC was pinged first (it failed), then the domain's.
    assert_eq!(
        fake.pinged(),
        [
            "dc2.corp.example.com",
            "dc1.corp.example.com",
            "dc2.corp.example.com"
        ]
    );
    // No DC answers at all: the forest is taken to be the domain.
    let fake = Fake::default()
        .with_srv(&whole(), &["dc1.corp.example.com"])
        .with_srv(&site("HQ"), &["dc2.corp.example.com"]);
    let l = locate(&fake, DOMAIN, &opts(Some("HQ"), None))
        .await
        .unwrap();
    assert_eq!(l.forest.as_deref(), Some(DOMAIN));
    assert_eq!(hosts(&l), ["dc2.corp.example.com", "dc1.corp.example.com"]);
}

#[tokio::test]
async fn the_cached_site_is_pinged_first_and_the_answer_wins() {
    let fake = Fake::default()
        .with_srv(&whole(), &["dc1.corp.example.com", "dc2.corp.example.com"])
        .with_srv(&site("Old"), &["dc2.corp.example.com"])
        .with_srv(&site("New"), &["dc1.corp.example.com"])
        .answering(
            "dc2.corp.example.com",
            Duration::ZERO,
            Ok(info("New", DOMAIN)),
        );
    let l = locate(&fake, DOMAIN, &opts(None, Some("Old")))
        .await
        .unwrap();
    assert_eq!(fake.pinged(), ["dc2.corp.example.com"]);
    assert_eq!(l.site.as_deref(), Some("New"));
    assert_eq!(hosts(&l), ["dc1.corp.example.com", "dc2.corp.example.com"]);
}

#[tokio::test]
async fn no_srv_records_is_an_error() {
    let r = locate(&Fake::default(), DOMAIN, &opts(None, None)).await;
    assert!(matches!(r, Err(LocateError::NoServers { .. })), "{r:?}");
}

fn many(n: usize) -> Vec<Srv> {
    (0..n).map(|i| srv(&format!("dc{i}"), 0)).collect()
}

#[tokio::test]
async fn pings_go_out_in_batches_of_five_then_the_rest() {
    // Everyone is slow to fail; dc7 (second batch) answers at once.
    let slow = Duration::from_secs(2);
    let mut fake = Fake::default();
    for i in 0..12 {
        fake = fake.answering(&format!("dc{i}"), slow, Err("late".into()));
    }
    fake = fake.answering("dc7", Duration::ZERO, Ok(info("S", DOMAIN)));
    let start = Instant::now();
    let got = ping_parallel(&fake, &many(12), DOMAIN).await.unwrap();
    assert_eq!(got.client_site, "S");
    let pinged = fake.pinged.lock().unwrap().clone();
    let names: Vec<&str> = pinged.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "dc0", "dc1", "dc2", "dc3", "dc4", "dc5", "dc6", "dc7", "dc8", "dc9"
        ]
    );
    let at = |i: usize| pinged[i].1.duration_since(start);
    assert!(at(4) < Duration::from_millis(100), "{:?}", at(4));
    assert!(at(5) >= Duration::from_millis(390), "{:?}", at(5));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn when_every_ping_failed_the_next_batch_goes_at_once() {
    let fake = Fake::default();
    let start = Instant::now();
    let errors = ping_parallel(&fake, &many(12), DOMAIN).await.unwrap_err();
    assert_eq!(errors.len(), 12);
    assert_eq!(fake.pinged().len(), 12);
    assert!(start.elapsed() < Duration::from_millis(200));
    assert!(ping_parallel(&fake, &[], DOMAIN).await.is_err());
}

#[test]
fn own_domain_hosts_lead_each_priority() {
    let records = vec![
        srv("a.example.com", 0),
        srv("b.corp.example.com", 0),
        srv("c.example.com", 1),
        srv("d.CORP.example.com.", 1),
        srv("notcorp.example.com", 2),
    ];
    let sorted: Vec<String> = sort_by_domain(records, DOMAIN)
        .into_iter()
        .map(|s| s.target)
        .collect();
    assert_eq!(
        sorted,
        [
            "b.corp.example.com",
            "a.example.com",
            "d.CORP.example.com.",
            "c.example.com",
            "notcorp.example.com"
        ]
    );
    assert!(host_in_domain("corp.example.com", DOMAIN));
    assert!(!host_in_domain("xcorp.example.com", DOMAIN));
    assert!(!host_in_domain("com", DOMAIN));
    assert!(!host_in_domain("é.example.com", "xample.com"));
    assert!(host_in_domain("é.corp.example.com", DOMAIN));
}

#[test]
fn srv_names_are_sssd_s() {
    assert_eq!(domain_srv_name(DOMAIN), "_ldap._tcp.corp.example.com");
    assert_eq!(
        site_srv_name("Branch", DOMAIN),
        "_ldap._tcp.Branch._sites.corp.example.com"
    );
}
