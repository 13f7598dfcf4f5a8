//! rfc2307bis member expansion: member DNs to user names, following nested groups level by
//! level up to `ldap_group_nesting_level`, with one batched search per level.
//!
//! The pure part ([`Graph`]) records what each group contains and answers the flattened
//! member list; [`expand`] drives the searches.

use super::cached_members::Resolved;
use super::connection::Connection;
use super::dn::{self, MemberKind};
use super::search::{Entry, SearchError};
use super::{MapCtx, asq, filter};
use ldap3::Scope;
use std::collections::{HashMap, HashSet};

/// How many names go into one OR filter.
pub const BATCH: usize = 100;

/// A group's direct content.
#[derive(Debug, Clone, Default)]
struct Node {
    /// User names, in directory order.
    users: Vec<String>,
    /// Normalised DNs of members that are (or may be) groups or unresolved entries.
    others: Vec<String>,
}

/// What is known about the groups seen so far.
#[derive(Debug, Default)]
pub struct Graph {
    user_attr: String,
    group_attr: String,
    member_attr: String,
    user_bases: Vec<String>,
    group_bases: Vec<String>,
    case_sensitive: bool,
    nodes: HashMap<String, Node>,
    /// Member DNs read individually and found to be users.
    users_by_dn: HashMap<String, String>,
    /// Original spelling of every pending DN, by normal form.
    original: HashMap<String, String>,
    /// DNs already fetched or being fetched.
    seen: HashSet<String>,
    /// The entries of the nested groups [`expand`] read, by normalised DN.
    nested: HashMap<String, Entry>,
    /// Whether a nested group was left out for being deeper than the nesting level.
    truncated: bool,
}

/// Member DNs to look up at the next level.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// DNs shaped like groups: fetched with one batched search (per [`BATCH`]).
    pub groups: Vec<String>,
    /// DNs of unknown shape: each read with a base search.
    pub unknown: Vec<String>,
    /// User DNs whose RDN value may differ in case from the login name (case-sensitive
    /// domains): resolved with one batched search on the name attribute.
    pub users: Vec<String>,
}

/// Whether a name taken from a DN's RDN can be used as is: always in case-insensitive
/// domains (names are lowercased), else only when it has no upper-case letter, since
/// `uid=USER1,...` names the entry whose uid may be `user1`.
pub fn rdn_name_is_certain(name: &str, case_sensitive: bool) -> bool {
    !case_sensitive || !name.chars().any(char::is_uppercase)
}

impl Graph {
    /// An empty graph for the given attribute names and search bases.
    pub fn new(ctx: &MapCtx, user_base: &str, group_base: &str) -> Graph {
        Graph {
            user_attr: ctx.opts.user_name.clone(),
            group_attr: ctx.opts.group_name.clone(),
            member_attr: ctx.opts.group_member.clone(),
            user_bases: vec![dn::normalize(user_base)],
            group_bases: vec![dn::normalize(group_base)],
            case_sensitive: ctx.case_sensitive,
            ..Graph::default()
        }
    }

    /// Records a group entry; returns its normalised DN.
    pub fn add_group(&mut self, e: &Entry) -> String {
        let key = dn::normalize(&e.dn);
        self.seen.insert(key.clone());
        self.original
            .entry(key.clone())
            .or_insert_with(|| e.dn.clone());
        let mut node = Node::default();
        for m in e.values(&self.member_attr) {
            match dn::classify(
                m,
                &self.user_attr,
                &self.group_attr,
                &self.user_bases,
                &self.group_bases,
            ) {
                MemberKind::User(n) if rdn_name_is_certain(&n, self.case_sensitive) => {
                    node.users.push(n)
                }
                MemberKind::User(_) | MemberKind::Group | MemberKind::Unknown => {
                    let k = dn::normalize(m);
                    self.original.entry(k.clone()).or_insert_with(|| m.clone());
                    node.others.push(k);
                }
            }
        }
        self.nodes.insert(key.clone(), node);
        key
    }

    /// Records a nested group read while expanding (see [`Graph::add_group`]) and keeps its
    /// entry for [`Graph::complete_nested`]; returns its normalised DN.
    pub fn add_nested_group(&mut self, e: Entry) -> String {
        let key = self.add_group(&e);
        self.nested.insert(key.clone(), e);
        key
    }

    /// Records that the entry at `dn` is a user named `name`.
    pub fn add_user_dn(&mut self, dn_: &str, name: &str) {
        let k = dn::normalize(dn_);
        self.seen.insert(k.clone());
        self.users_by_dn.insert(k, name.to_string());
    }

    /// Records that the entry at `dn` is a group whose flattened members (user names) the
    /// cache holds: it is not searched, and its members count at its nesting depth.
    pub fn add_cached_group(&mut self, dn_: &str, members: Vec<String>) {
        let k = dn::normalize(dn_);
        self.seen.insert(k.clone());
        self.nodes.insert(
            k,
            Node {
                users: members,
                others: Vec::new(),
            },
        );
    }

    /// Records that a nested group was left out for being deeper than the nesting level.
    pub fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    /// The nested groups (under the group search base) whose flattened members the graph
    /// holds in full, with those members (as [`Graph::members`] gives them for `levels`):
    /// all of them when no group was left out at the nesting level, none otherwise (a group
    /// met deep in the graph may have members below the cut).
    pub fn complete_nested(&self, levels: u32) -> Vec<(&Entry, Vec<String>)> {
        if self.truncated {
            return Vec::new();
        }
        self.nested
            .iter()
            .filter(|(k, _)| self.group_bases.iter().any(|b| dn::is_under(k, b)))
            .map(|(k, e)| (e, self.members(k, levels)))
            .collect()
    }

    /// Whether every member of group `root` (normalised DN), down to `levels` of nesting, is
    /// known: a user by name or a recorded group. Then [`Graph::members`] is what expanding
    /// the group with searches would give.
    pub fn fully_known(&self, root: &str, levels: u32) -> bool {
        self.walk(root, levels).1
    }

    /// Marks a DN as looked up (found or not), so it is not searched again.
    pub fn mark_seen(&mut self, dn_: &str) {
        self.seen.insert(dn::normalize(dn_));
    }

    /// The not yet looked-up member DNs of the groups `parents` (normalised DNs). Group-shaped
    /// DNs are only returned when `follow_groups` (nesting allows another level).
    pub fn pending(&mut self, parents: &[String], follow_groups: bool) -> Pending {
        let mut p = Pending::default();
        let mut dup = HashSet::new();
        for parent in parents {
            let Some(node) = self.nodes.get(parent) else {
                continue;
            };
            for k in &node.others {
                if self.seen.contains(k) || !dup.insert(k.clone()) {
                    continue;
                }
                let orig = self.original.get(k).cloned().unwrap_or_else(|| k.clone());
                match dn::classify(
                    &orig,
                    &self.user_attr,
                    &self.group_attr,
                    &self.user_bases,
                    &self.group_bases,
                ) {
                    MemberKind::Group if follow_groups => p.groups.push(orig),
                    MemberKind::Group => self.truncated = true,
                    MemberKind::User(_) => p.users.push(orig),
                    MemberKind::Unknown => p.unknown.push(orig),
                }
            }
        }
        p
    }

    /// The DN of a recorded group or member (normalised `key`) as the directory spelled it.
    pub fn original_dn(&self, key: &str) -> String {
        self.original
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// How many direct members of group `parent` (normalised DN) are among `keys`.
    pub fn members_among(&self, parent: &str, keys: &HashSet<String>) -> usize {
        self.nodes
            .get(parent)
            .map_or(0, |n| n.others.iter().filter(|k| keys.contains(*k)).count())
    }

    /// The flattened user members of group `root` (normalised DN): its own users, then those
    /// of nested groups up to `levels` deep, deduplicated, in discovery order.
    pub fn members(&self, root: &str, levels: u32) -> Vec<String> {
        self.walk(root, levels).0
    }

    /// [`Graph::members`], and whether every member met on the way was known (see
    /// [`Graph::fully_known`]).
    fn walk(&self, root: &str, levels: u32) -> (Vec<String>, bool) {
        let mut out = Vec::new();
        let mut known = true;
        let mut names = HashSet::new();
        let mut visited = HashSet::from([root.to_string()]);
        let mut frontier = vec![root.to_string()];
        let mut depth = 0;
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for g in &frontier {
                let Some(node) = self.nodes.get(g) else {
                    known = false;
                    continue;
                };
                for u in &node.users {
                    if names.insert(u.clone()) {
                        out.push(u.clone());
                    }
                }
                for k in &node.others {
                    if let Some(u) = self.users_by_dn.get(k) {
                        if names.insert(u.clone()) {
                            out.push(u.clone());
                        }
                        continue;
                    }
                    known &= self.nodes.contains_key(k);
                    if depth < levels && visited.insert(k.clone()) {
                        next.push(k.clone());
                    }
                }
            }
            frontier = next;
            depth += 1;
        }
        (out, known)
    }
}

/// Fetches what the groups in `graph` (the `roots`, already added) need: nested groups up to
/// the nesting level in one batched search per level, and unknown member DNs one by one.
pub async fn expand(
    ctx: &MapCtx,
    conn: &Connection,
    graph: &mut Graph,
    roots: Vec<String>,
) -> Result<(), SearchError> {
    let levels = ctx.opts.group_nesting_level;
    let mut parents = roots;
    let mut depth = 1;
    while !parents.is_empty() {
        let mut next = Vec::new();
        let p = graph.pending(&parents, depth <= levels);
        let p = take_cached(ctx, graph, p, depth <= levels).await;
        let p = asq::dereference(ctx, conn, graph, &parents, p).await?;
        let mut unknown = p.unknown;
        if !p.users.is_empty() {
            resolve_user_dns(ctx, conn, graph, &p.users).await?;
        }
        if !p.groups.is_empty() {
            let found = fetch_groups_by_dn(ctx, conn, &p.groups).await?;
            let got: HashSet<String> = found.iter().map(|e| dn::normalize(&e.dn)).collect();
            for e in found {
                next.push(graph.add_nested_group(e));
            }
            unknown.extend(
                p.groups
                    .into_iter()
                    .filter(|d| !got.contains(&dn::normalize(d))),
            );
        }
        for d in &unknown {
            graph.mark_seen(d);
        }
        // Many unknown DNs (AD's `CN=<display name>,...` members): batched searches on the
        // RDN value first; what they do not find is read one by one.
        let (found, missing) = if unknown.len() >= UNKNOWN_BATCH_MIN {
            fetch_by_rdn(ctx, conn, &unknown).await?
        } else {
            (Vec::new(), unknown)
        };
        for e in found {
            add_entry(ctx, graph, e, depth <= levels, &mut next);
        }
        for d in missing {
            if let Some(e) = read_entry(ctx, conn, &d).await? {
                add_entry(ctx, graph, e, depth <= levels, &mut next);
            }
        }
        parents = next;
        depth += 1;
    }
    Ok(())
}

/// Resolves the pending DNs the cache holds fresh (see [`super::cached_members`]): users by
/// name, groups by their cached members (when `follow_groups`; else they are only marked
/// as seen); returns what is left for the directory.
pub(super) async fn take_cached(
    ctx: &MapCtx,
    graph: &mut Graph,
    p: Pending,
    follow_groups: bool,
) -> Pending {
    let all: Vec<String> = p
        .users
        .iter()
        .chain(&p.unknown)
        .chain(&p.groups)
        .cloned()
        .collect();
    let known = ctx.cached_members.resolve(&all, super::now()).await;
    if known.is_empty() {
        return p;
    }
    let mut keep = |d: &String| -> bool {
        let k = dn::normalize(d);
        match known.get(&k) {
            None => true,
            Some(Resolved::User(name)) => {
                graph.add_user_dn(d, name);
                false
            }
            Some(Resolved::Group(members)) => {
                if follow_groups {
                    graph.add_cached_group(d, members.clone());
                } else {
                    graph.mark_seen(d);
                    graph.mark_truncated();
                }
                false
            }
        }
    };
    Pending {
        users: p.users.into_iter().filter(&mut keep).collect(),
        unknown: p.unknown.into_iter().filter(&mut keep).collect(),
        groups: p.groups.into_iter().filter(&mut keep).collect(),
    }
}

/// The login name of user entry `e`: the `attr` value its DN's RDN names (in any case),
/// else the first one.
pub(super) fn login_name<'a>(e: &'a Entry, attr: &str) -> Option<&'a str> {
    let names = e.values(attr);
    let rdn = dn::first_rdn(&e.dn).map(|a| a.value.to_lowercase());
    names
        .iter()
        .find(|n| rdn.as_deref() == Some(n.to_lowercase().as_str()))
        .or_else(|| names.first())
        .map(String::as_str)
}

/// From how many unknown member DNs on [`fetch_by_rdn`] batches them (below that, a base
/// read each costs no more searches than a batch's user and group searches).
pub const UNKNOWN_BATCH_MIN: usize = 3;

/// Records entry `e` (read for a member DN) in `graph`: a group joins `next` when
/// `follow_groups`, a user is known by its name.
fn add_entry(
    ctx: &MapCtx,
    graph: &mut Graph,
    e: Entry,
    follow_groups: bool,
    next: &mut Vec<String>,
) {
    if e.has_class(&ctx.opts.group_object_class) {
        if follow_groups {
            next.push(graph.add_nested_group(e));
        } else {
            graph.mark_truncated();
        }
    } else if let Some(n) = e.first(&ctx.opts.user_name) {
        graph.add_user_dn(&e.dn, &ctx.name(n));
    }
}

/// The batches [`fetch_by_rdn`] sends for `dns`: (RDN attribute, RDN values), at most
/// [`BATCH`] values each, DNs grouped by the attribute their RDN names; and the DNs without
/// a parsable RDN.
pub fn rdn_batches(dns: &[String]) -> (Vec<(String, Vec<String>)>, Vec<String>) {
    let mut by_attr: Vec<(String, Vec<String>)> = Vec::new();
    let mut unparsed = Vec::new();
    for d in dns {
        let Some(a) = dn::first_rdn(d) else {
            unparsed.push(d.clone());
            continue;
        };
        let attr = a.attr.to_lowercase();
        match by_attr.iter_mut().find(|(k, _)| *k == attr) {
            Some((_, v)) => v.push(a.value),
            None => by_attr.push((attr, vec![a.value])),
        }
    }
    let mut out = Vec::new();
    for (attr, values) in by_attr {
        for chunk in values.chunks(BATCH) {
            out.push((attr.clone(), chunk.to_vec()));
        }
    }
    (out, unparsed)
}

/// Finds the entries of member DNs of unknown kind with batched searches on their RDN
/// value (`(|(cn=a)(cn=b)...)`, [`BATCH`] at a time) among users, then for the values left
/// among groups, matched back by DN. Returns them and the DNs not found that way (outside
/// the search bases or filters, or not there at all), which the caller reads one by one as
/// before, so the result is the same as reading every DN, in far fewer searches.
async fn fetch_by_rdn(
    ctx: &MapCtx,
    conn: &Connection,
    dns: &[String],
) -> Result<(Vec<Entry>, Vec<String>), SearchError> {
    let o = &ctx.opts;
    let wanted: HashSet<String> = dns.iter().map(|d| dn::normalize(d)).collect();
    let (batches, _) = rdn_batches(dns);
    let mut found: HashMap<String, Entry> = HashMap::new();
    for (attr, values) in batches {
        let parts: Vec<String> = values.iter().map(|v| filter::eq(&attr, v)).collect();
        let any = filter::or(&parts);
        // A member user only needs its name here (the cache gets its full entry when it is
        // looked up itself): a fraction of the bytes to send, seal and decode.
        let attrs = vec!["objectClass".to_string(), o.user_name.clone()];
        let users = ctx
            .search_users(conn, &filter::user(o, &any), attrs, None)
            .await?;
        let mut got = HashSet::new();
        for e in users {
            let k = dn::normalize(&e.dn);
            if wanted.contains(&k) {
                if let Some(a) = dn::first_rdn(&e.dn) {
                    got.insert(a.value.to_lowercase());
                }
                found.entry(k).or_insert(e);
            }
        }
        // Only the values no user had are looked for among groups (none in a group of
        // users).
        let parts: Vec<String> = values
            .iter()
            .filter(|v| !got.contains(&v.to_lowercase()))
            .map(|v| filter::eq(&attr, v))
            .collect();
        if parts.is_empty() {
            continue;
        }
        let groups = ctx
            .search_groups(
                conn,
                &filter::group(o, &filter::or(&parts), false),
                filter::group_attrs(o),
                None,
            )
            .await?;
        for e in groups {
            let k = dn::normalize(&e.dn);
            if wanted.contains(&k) {
                found.entry(k).or_insert(e);
            }
        }
    }
    // In the order asked for, so that traversal does not depend on hashing.
    let (mut entries, mut missing) = (Vec::new(), Vec::new());
    for d in dns {
        match found.remove(&dn::normalize(d)) {
            Some(e) => entries.push(e),
            None => missing.push(d.clone()),
        }
    }
    Ok((entries, missing))
}

/// Fetches the groups with the given DNs: one search per [`BATCH`] names on the group name
/// attribute, keeping only entries whose DN is one of those asked for.
async fn fetch_groups_by_dn(
    ctx: &MapCtx,
    conn: &Connection,
    dns: &[String],
) -> Result<Vec<Entry>, SearchError> {
    let o = &ctx.opts;
    let wanted: HashSet<String> = dns.iter().map(|d| dn::normalize(d)).collect();
    let mut out = Vec::new();
    for chunk in dns.chunks(BATCH) {
        let parts: Vec<String> = chunk
            .iter()
            .filter_map(|d| dn::first_rdn(d))
            .map(|a| filter::eq(&o.group_name, &a.value))
            .collect();
        if parts.is_empty() {
            continue;
        }
        let f = filter::group(o, &filter::or(&parts), false);
        let found = ctx
            .search_groups(conn, &f, filter::group_attrs(o), None)
            .await?;
        out.extend(
            found
                .into_iter()
                .filter(|e| wanted.contains(&dn::normalize(&e.dn))),
        );
    }
    Ok(out)
}

/// Resolves user DNs to the login names their entries carry: one search per [`BATCH`]
/// names on the user name attribute, matched back by DN. DNs without a user entry are
/// dropped.
async fn resolve_user_dns(
    ctx: &MapCtx,
    conn: &Connection,
    graph: &mut Graph,
    dns: &[String],
) -> Result<(), SearchError> {
    let o = &ctx.opts;
    let mut wanted: HashMap<String, String> = HashMap::new();
    for d in dns {
        graph.mark_seen(d);
        if let Some(a) = dn::first_rdn(d) {
            wanted.insert(dn::normalize(d), a.value);
        }
    }
    let rdn_values: Vec<&String> = wanted.values().collect();
    for chunk in rdn_values.chunks(BATCH) {
        let parts: Vec<String> = chunk.iter().map(|v| filter::eq(&o.user_name, v)).collect();
        let f = filter::user(o, &filter::or(&parts));
        let found = ctx
            .search_users(conn, &f, vec![o.user_name.clone()], None)
            .await?;
        for e in found {
            if !wanted.contains_key(&dn::normalize(&e.dn)) {
                continue;
            }
            if let Some(n) = login_name(&e, &o.user_name) {
                graph.add_user_dn(&e.dn, &ctx.name(n));
            }
        }
    }
    Ok(())
}

/// Reads one entry by DN (a base search); `None` when it does not exist.
async fn read_entry(
    ctx: &MapCtx,
    conn: &Connection,
    dn_: &str,
) -> Result<Option<Entry>, SearchError> {
    let mut attrs = filter::user_attrs(&ctx.opts);
    attrs.extend(filter::group_attrs(&ctx.opts));
    let t = ctx.search_timeout();
    let mut v = ctx
        .search_with(conn, dn_, Scope::Base, "(objectClass=*)", attrs, t)
        .await?;
    Ok(v.pop())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;

    fn group(dn_: &str, members: &[&str]) -> Entry {
        Entry::new(
            dn_,
            &[("objectClass", &["groupOfNames"]), ("member", members)],
        )
    }

    fn ctx() -> MapCtx {
        let mut c = test_ctx(true);
        let mut o = (*c.opts).clone();
        o.rfc2307bis = true;
        o.group_member = "member".into();
        c.opts = std::sync::Arc::new(o);
        c
    }

    /// top > mid > leaf, each with one user, plus an unknown-shaped member in top.
    fn graph() -> (Graph, String) {
        let mut g = Graph::new(&ctx(), "ou=People,dc=x", "ou=Groups,dc=x");
        let top = g.add_group(&group(
            "cn=top,ou=Groups,dc=x",
            &[
                "uid=a,ou=People,dc=x",
                "cn=mid,ou=Groups,dc=x",
                "cn=Odd One,ou=People,dc=x",
            ],
        ));
        (g, top)
    }

    #[test]
    fn pending_splits_groups_and_unknown_and_respects_levels() {
        let (mut g, top) = graph();
        let p = g.pending(std::slice::from_ref(&top), true);
        assert_eq!(p.groups, vec!["cn=mid,ou=Groups,dc=x".to_string()]);
        assert_eq!(p.unknown, vec!["cn=Odd One,ou=People,dc=x".to_string()]);
        let p = g.pending(&[top], false);
        assert!(p.groups.is_empty());
        assert_eq!(p.unknown.len(), 1);
    }

    #[test]
    fn members_follow_nesting_levels() {
        let (mut g, top) = graph();
        g.add_group(&group(
            "cn=mid,ou=Groups,dc=x",
            &["uid=b,ou=People,dc=x", "cn=leaf,ou=Groups,dc=x"],
        ));
        g.add_group(&group(
            "cn=leaf,ou=Groups,dc=x",
            &["uid=c,ou=People,dc=x", "cn=top,ou=Groups,dc=x"],
        ));
        g.add_user_dn("cn=Odd One,ou=People,dc=x", "odd");
        assert_eq!(g.members(&top, 0), vec!["a", "odd"]);
        assert_eq!(g.members(&top, 1), vec!["a", "odd", "b"]);
        // The cycle back to top is harmless.
        assert_eq!(g.members(&top, 2), vec!["a", "odd", "b", "c"]);
        assert_eq!(g.members(&top, 9), vec!["a", "odd", "b", "c"]);
        // Once fetched, nothing is pending any more.
        let mid = dn::normalize("cn=mid,ou=Groups,dc=x");
        g.mark_seen("cn=Odd One,ou=People,dc=x");
        assert_eq!(g.pending(&[top, mid], true), Pending::default());
    }

    #[test]
    fn nested_groups_are_complete_unless_the_nesting_level_cut_some() {
        let (mut g, _top) = graph();
        g.add_nested_group(group(
            "cn=mid,ou=Groups,dc=x",
            &["uid=b,ou=People,dc=x", "cn=leaf,ou=Groups,dc=x"],
        ));
        g.add_nested_group(group("cn=leaf,ou=Groups,dc=x", &["uid=c,ou=People,dc=x"]));
        // Outside the group base: read as a member, never stored as a group.
        g.add_nested_group(group("cn=far,ou=Else,dc=x", &["uid=d,ou=People,dc=x"]));
        let mut got: Vec<(String, Vec<String>)> = g
            .complete_nested(2)
            .into_iter()
            .map(|(e, m)| (e.dn.clone(), m))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("cn=leaf,ou=Groups,dc=x".to_string(), vec!["c".to_string()]),
                (
                    "cn=mid,ou=Groups,dc=x".to_string(),
                    vec!["b".into(), "c".into()]
                ),
            ]
        );
        // A group skipped at the nesting level: nothing nested is known to be complete.
        let mut g2 = Graph::new(&ctx(), "ou=People,dc=x", "ou=Groups,dc=x");
        let k = g2.add_nested_group(group("cn=m,ou=Groups,dc=x", &["cn=deep,ou=Groups,dc=x"]));
        g2.add_nested_group(group("cn=n,ou=Groups,dc=x", &["uid=e,ou=People,dc=x"]));
        assert_eq!(g2.complete_nested(1).len(), 2);
        let _ = g2.pending(std::slice::from_ref(&k), false);
        assert!(g2.complete_nested(1).is_empty());
    }

    #[test]
    fn a_group_is_fully_known_when_every_member_down_to_the_level_is() {
        let (mut g, top) = graph();
        // top: a (by RDN), mid (not recorded yet), "Odd One" (unknown).
        assert!(!g.fully_known(&top, 2));
        g.add_user_dn("cn=Odd One,ou=People,dc=x", "odd");
        assert!(!g.fully_known(&top, 2), "mid is not recorded");
        let mid = g.add_group(&group(
            "cn=mid,ou=Groups,dc=x",
            &["uid=b,ou=People,dc=x", "cn=leaf,ou=Groups,dc=x"],
        ));
        assert!(!g.fully_known(&top, 2), "leaf is not recorded");
        // An unrecorded member counts at the last level too: it may be a user.
        assert!(!g.fully_known(&top, 1));
        g.add_cached_group("cn=leaf,ou=Groups,dc=x", vec!["c".into()]);
        assert!(g.fully_known(&top, 2));
        assert!(g.fully_known(&mid, 0));
        assert_eq!(g.members(&top, 2), vec!["a", "odd", "b", "c"]);
    }

    #[test]
    fn upper_case_user_dns_are_checked_in_case_sensitive_domains() {
        let mut g = Graph::new(&ctx(), "ou=People,dc=x", "ou=Groups,dc=x");
        let k = g.add_group(&group(
            "cn=c,ou=Groups,dc=x",
            &["uid=USER3,ou=People,dc=x", "uid=u1,ou=People,dc=x"],
        ));
        let p = g.pending(std::slice::from_ref(&k), false);
        assert_eq!(p.users, vec!["uid=USER3,ou=People,dc=x".to_string()]);
        assert_eq!(g.members(&k, 0), vec!["u1"]);
        g.add_user_dn("uid=user3,ou=People,dc=x", "user3");
        assert_eq!(g.members(&k, 0), vec!["u1", "user3"]);
        // Case-insensitive domains take the RDN value (lowercased later) directly.
        let mut c = ctx();
        c.case_sensitive = false;
        let mut g = Graph::new(&c, "ou=People,dc=x", "ou=Groups,dc=x");
        let k = g.add_group(&group("cn=c,ou=Groups,dc=x", &["uid=USER3,ou=People,dc=x"]));
        assert_eq!(
            g.pending(std::slice::from_ref(&k), true),
            Pending::default()
        );
        assert_eq!(g.members(&k, 0), vec!["USER3"]);
    }

    #[test]
    fn unknown_dns_are_batched_by_rdn_attribute() {
        let mut dns: Vec<String> = (0..250)
            .map(|i| format!("CN=User {i},CN=Users,DC=corp,DC=example,DC=com"))
            .collect();
        dns.insert(1, "OU=x,DC=corp,DC=example,DC=com".to_string());
        dns.push("not a dn".to_string());
        let (batches, unparsed) = rdn_batches(&dns);
        let sizes: Vec<(&str, usize)> =
            batches.iter().map(|(a, v)| (a.as_str(), v.len())).collect();
        assert_eq!(sizes, [("cn", 100), ("cn", 100), ("cn", 50), ("ou", 1)]);
        assert_eq!(batches[0].1[0], "User 0");
        assert_eq!(batches[2].1[49], "User 249");
        assert_eq!(unparsed, ["not a dn"]);
    }

    #[test]
    fn large_groups_need_no_lookups() {
        let members: Vec<String> = (0..5000)
            .map(|i| format!("uid=u{i},ou=People,dc=x"))
            .collect();
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        let mut g = Graph::new(&ctx(), "ou=People,dc=x", "ou=Groups,dc=x");
        let k = g.add_group(&group("cn=big,ou=Groups,dc=x", &refs));
        assert_eq!(
            g.pending(std::slice::from_ref(&k), true),
            Pending::default()
        );
        assert_eq!(g.members(&k, 2).len(), 5000);
    }

    #[test]
    fn dereferencing_counts_each_groups_missing_members_and_keeps_its_spelling() {
        let (g, top) = graph();
        assert_eq!(g.original_dn(&top), "cn=top,ou=Groups,dc=x");
        let missing: HashSet<String> = [
            "cn=odd one,ou=people,dc=x",
            "cn=mid,ou=groups,dc=x",
            "cn=elsewhere,dc=x",
        ]
        .into_iter()
        .map(dn::normalize)
        .collect();
        assert_eq!(g.members_among(&top, &missing), 2);
        assert_eq!(g.members_among("cn=unknown,dc=x", &missing), 0);
    }

    #[test]
    fn login_names_prefer_the_value_the_rdn_names() {
        let e = Entry::new(
            "CN=Bob,CN=Users,DC=x",
            &[("sAMAccountName", &["robert", "BOB"])],
        );
        assert_eq!(login_name(&e, "samaccountname"), Some("BOB"));
        let e = Entry::new(
            "CN=Bob Smith,CN=Users,DC=x",
            &[("sAMAccountName", &["bsmith"])],
        );
        assert_eq!(login_name(&e, "sAMAccountName"), Some("bsmith"));
        assert_eq!(login_name(&Entry::new("CN=x", &[]), "sAMAccountName"), None);
    }
}
