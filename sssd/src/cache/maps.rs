//! The services, hosts and networks maps in the domain cache, each in its own named
//! database (`services`, `hosts`, `networks`).
//!
//! Every map keys its entries by primary name and also finds them by alias and by number
//! (a port, an address). Keys inside one database:
//! - `n` + primary name -> the record (`i64 last_update, i64 expire`, then the fields);
//! - `a` + alias -> primary name;
//! - `k` + number key -> primary name.
//!
//! As SSSD's sysdb, a number belongs to one entry: storing an entry whose port (or
//! address) another entry holds removes that other entry ("last saved wins"), and an alias
//! index entry is trusted only when the record it leads to still lists the alias.

use super::{Cache, CacheError, Writer};
use crate::model::Cached;
use heed::RoTxn;
use heed::types::Bytes;
use std::collections::HashSet;

/// A service (`ipService`): one name, its aliases, a port and the protocols on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// Primary name (as the cache keys it).
    pub name: String,
    /// Other names, without the primary one.
    pub aliases: Vec<String>,
    /// The port, host order.
    pub port: u16,
    /// Protocols offered on the port (`tcp`, `udp`, ...), at least one.
    pub protocols: Vec<String>,
}

/// A host (`ipHost`): a name, its aliases and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpHost {
    /// Primary name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Addresses in canonical text form (IPv4 or IPv6), at least one.
    pub addresses: Vec<String>,
}

/// A network (`ipNetwork`): a name, its aliases and its network number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpNetwork {
    /// Primary name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// The network number in canonical text form (IPv4).
    pub address: String,
}

/// What one map stores: its database and how an entry becomes fields and number keys.
pub trait MapEntry: Sized + Clone {
    /// Name of the named database.
    const DB: &'static str;
    /// Primary name.
    fn name(&self) -> &str;
    /// Aliases.
    fn aliases(&self) -> &[String];
    /// Number keys (ports, addresses) that find this entry.
    fn number_keys(&self) -> Vec<Vec<u8>>;
    /// The fields after name and aliases.
    fn fields(&self) -> Vec<Vec<String>>;
    /// The entry from name, aliases and the other fields; `None` when they do not fit.
    fn from_fields(name: String, aliases: Vec<String>, rest: Vec<Vec<String>>) -> Option<Self>;
}

impl MapEntry for Service {
    const DB: &'static str = "services";
    fn name(&self) -> &str {
        &self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn number_keys(&self) -> Vec<Vec<u8>> {
        vec![port_key(self.port)]
    }
    fn fields(&self) -> Vec<Vec<String>> {
        vec![vec![self.port.to_string()], self.protocols.clone()]
    }
    fn from_fields(name: String, aliases: Vec<String>, rest: Vec<Vec<String>>) -> Option<Self> {
        let mut it = rest.into_iter();
        let port = it.next()?.first()?.parse().ok()?;
        let protocols = it.next()?;
        Some(Service {
            name,
            aliases,
            port,
            protocols,
        })
    }
}

impl MapEntry for IpHost {
    const DB: &'static str = "hosts";
    fn name(&self) -> &str {
        &self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn number_keys(&self) -> Vec<Vec<u8>> {
        self.addresses
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect()
    }
    fn fields(&self) -> Vec<Vec<String>> {
        vec![self.addresses.clone()]
    }
    fn from_fields(name: String, aliases: Vec<String>, rest: Vec<Vec<String>>) -> Option<Self> {
        Some(IpHost {
            name,
            aliases,
            addresses: rest.into_iter().next()?,
        })
    }
}

impl MapEntry for IpNetwork {
    const DB: &'static str = "networks";
    fn name(&self) -> &str {
        &self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn number_keys(&self) -> Vec<Vec<u8>> {
        vec![self.address.as_bytes().to_vec()]
    }
    fn fields(&self) -> Vec<Vec<String>> {
        vec![vec![self.address.clone()]]
    }
    fn from_fields(name: String, aliases: Vec<String>, rest: Vec<Vec<String>>) -> Option<Self> {
        Some(IpNetwork {
            name,
            aliases,
            address: rest.into_iter().next()?.into_iter().next()?,
        })
    }
}

/// A host's SSH public keys (`hostid_provider`), stored under the name the client asked
/// for (SSSD keys its `ssh_hosts` entries that way, not by the directory's name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SshHost {
    /// The name the host was requested by (its canonical name).
    pub name: String,
    /// Aliases the host was also requested under (accumulated over lookups).
    pub aliases: Vec<String>,
    /// The keys, as the directory holds them (text or a binary blob).
    pub keys: Vec<Vec<u8>>,
    /// Until when the host belongs in the known hosts file (0: not looked up by ssh).
    pub known_hosts_expire: i64,
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl MapEntry for SshHost {
    const DB: &'static str = "ssh_hosts";
    fn name(&self) -> &str {
        &self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn number_keys(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn fields(&self) -> Vec<Vec<String>> {
        vec![
            self.keys.iter().map(|k| hex(k)).collect(),
            vec![self.known_hosts_expire.to_string()],
        ]
    }
    fn from_fields(name: String, aliases: Vec<String>, rest: Vec<Vec<String>>) -> Option<Self> {
        let mut it = rest.into_iter();
        let keys = it
            .next()?
            .iter()
            .map(|k| unhex(k))
            .collect::<Option<Vec<_>>>()?;
        let known_hosts_expire = it.next()?.first()?.parse().ok()?;
        Some(SshHost {
            name,
            aliases,
            keys,
            known_hosts_expire,
        })
    }
}

/// The number key of a port.
pub fn port_key(port: u16) -> Vec<u8> {
    port.to_be_bytes().to_vec()
}

fn key(tag: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(tag);
    k.extend_from_slice(rest);
    k
}

/// Encodes a record: stamps, then `u32 nfields`, per field `u32 count`, per string
/// `u32 len` + bytes.
fn encode<T: MapEntry>(e: &T, last_update: i64, expire: i64) -> Vec<u8> {
    let mut fields = vec![vec![e.name().to_string()], e.aliases().to_vec()];
    fields.extend(e.fields());
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&last_update.to_le_bytes());
    out.extend_from_slice(&expire.to_le_bytes());
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len32(fields.len()));
    for f in &fields {
        out.extend_from_slice(&len32(f.len()));
        for s in f {
            out.extend_from_slice(&len32(s.len()));
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

/// Bounds-checked reading of [`encode`]'s output.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = self.0.split_at_checked(n)?;
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<usize> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Decodes a record; `None` when it is damaged.
pub fn decode<T: MapEntry>(raw: &[u8]) -> Option<Cached<T>> {
    let mut c = Cur(raw);
    let last_update = c.i64()?;
    let expire = c.i64()?;
    let nfields = c.u32()?;
    if nfields < 2 || nfields > c.0.len() {
        return None;
    }
    let mut fields = Vec::with_capacity(nfields);
    for _ in 0..nfields {
        let n = c.u32()?;
        if n > c.0.len() {
            return None;
        }
        let mut f = Vec::with_capacity(n);
        for _ in 0..n {
            let len = c.u32()?;
            f.push(String::from_utf8(c.take(len)?.to_vec()).ok()?);
        }
        fields.push(f);
    }
    if !c.0.is_empty() {
        return None;
    }
    let mut it = fields.into_iter();
    let name = it.next()?.into_iter().next()?;
    let aliases = it.next()?;
    let value = T::from_fields(name, aliases, it.collect())?;
    Some(Cached {
        value,
        last_update,
        expire,
    })
}

type Db = heed::Database<'static, Bytes, Bytes>;

fn db<T: MapEntry>(cache: &Cache) -> Result<Db, CacheError> {
    cache
        .shared
        .extra
        .get(T::DB)
        .copied()
        .ok_or_else(|| CacheError::Invalid {
            path: cache.shared.path.clone(),
            reason: format!("database {:?} is not open", T::DB),
        })
}

fn corrupt(cache: &Cache, db: &str, key: &[u8]) -> CacheError {
    CacheError::Corrupt {
        path: cache.shared.path.clone(),
        key: format!("{db}:{}", String::from_utf8_lossy(key)),
    }
}

/// Lookups inside one transaction.
struct Look<'t, 'c> {
    txn: &'t RoTxn<'t>,
    db: Db,
    cache: &'c Cache,
}

impl<'t> Look<'t, '_> {
    fn raw(&self, k: &[u8]) -> Result<Option<&'t [u8]>, CacheError> {
        self.db.get(self.txn, k).map_err(|e| self.cache.lmdb(e))
    }

    fn by_primary<T: MapEntry>(&self, name: &str) -> Result<Option<Cached<T>>, CacheError> {
        let k = key(b'n', name.as_bytes());
        match self.raw(&k)? {
            None => Ok(None),
            Some(raw) => decode(raw)
                .map(Some)
                .ok_or_else(|| corrupt(self.cache, T::DB, &k)),
        }
    }

    fn primary_of(&self, tag: u8, k: &[u8]) -> Result<Option<String>, CacheError> {
        Ok(self
            .raw(&key(tag, k))?
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_owned))
    }

    fn by_name<T: MapEntry>(&self, name: &str) -> Result<Option<Cached<T>>, CacheError> {
        if let Some(c) = self.by_primary(name)? {
            return Ok(Some(c));
        }
        let Some(p) = self.primary_of(b'a', name.as_bytes())? else {
            return Ok(None);
        };
        Ok(self
            .by_primary::<T>(&p)?
            .filter(|c| c.value.aliases().iter().any(|a| a == name)))
    }

    fn by_number<T: MapEntry>(&self, k: &[u8]) -> Result<Option<Cached<T>>, CacheError> {
        let Some(p) = self.primary_of(b'k', k)? else {
            return Ok(None);
        };
        Ok(self
            .by_primary::<T>(&p)?
            .filter(|c| c.value.number_keys().iter().any(|n| n == k)))
    }

    fn all<T: MapEntry>(&self) -> Result<Vec<Cached<T>>, CacheError> {
        let mut out = Vec::new();
        let iter = self
            .db
            .prefix_iter(self.txn, b"n")
            .map_err(|e| self.cache.lmdb(e))?;
        for item in iter {
            let (k, v) = item.map_err(|e| self.cache.lmdb(e))?;
            out.push(decode(v).ok_or_else(|| corrupt(self.cache, T::DB, k))?);
        }
        Ok(out)
    }
}

impl Cache {
    fn look<R>(
        &self,
        db: Db,
        f: impl FnOnce(&Look<'_, '_>) -> Result<R, CacheError>,
    ) -> Result<R, CacheError> {
        let txn = self.shared.env().read_txn().map_err(|e| self.lmdb(e))?;
        f(&Look {
            txn: &txn,
            db,
            cache: self,
        })
    }

    /// The entry of map `T` called `name` (primary name or alias), with its stamps.
    pub fn map_by_name<T: MapEntry>(&self, name: &str) -> Result<Option<Cached<T>>, CacheError> {
        self.look(db::<T>(self)?, |l| l.by_name(name))
    }

    /// The entry of map `T` holding number key `k` (see [`MapEntry::number_keys`]).
    pub fn map_by_number<T: MapEntry>(&self, k: &[u8]) -> Result<Option<Cached<T>>, CacheError> {
        self.look(db::<T>(self)?, |l| l.by_number(k))
    }

    /// The entry of map `T` whose primary name is `name` (aliases are not followed).
    pub fn map_by_primary<T: MapEntry>(&self, name: &str) -> Result<Option<Cached<T>>, CacheError> {
        self.look(db::<T>(self)?, |l| l.by_primary(name))
    }

    /// The cached SSH host keys of the host requested as `name`, with their stamps.
    pub fn ssh_host(&self, name: &str) -> Result<Option<Cached<SshHost>>, CacheError> {
        self.map_by_primary(name)
    }

    /// Every cached SSH host, with stamps (for the known hosts file).
    pub fn ssh_hosts(&self) -> Result<Vec<Cached<SshHost>>, CacheError> {
        self.map_all()
    }

    /// Keeps host `name` in the known hosts file until `expire` (SSSD's
    /// `sshKnownHostsExpire`); nothing happens when the host is not cached.
    pub fn touch_ssh_known_host(&self, name: &str, expire: i64) -> Result<(), CacheError> {
        let mut w = self.writer()?;
        let (txn, db, cache) = w.map_parts::<SshHost>()?;
        let k = key(b'n', name.as_bytes());
        let cur: Option<Cached<SshHost>> = Look {
            txn: &*txn,
            db,
            cache,
        }
        .by_primary(name)?;
        if let Some(mut c) = cur {
            c.value.known_hosts_expire = expire;
            db.put(txn, &k, &encode(&c.value, c.last_update, c.expire))
                .map_err(|e| cache.lmdb(e))?;
        }
        w.commit()
    }

    /// Every entry of map `T` (enumeration), with stamps.
    pub fn map_all<T: MapEntry>(&self) -> Result<Vec<Cached<T>>, CacheError> {
        self.look(db::<T>(self)?, |l| l.all())
    }

    /// The service called `name` (or with that alias).
    pub fn service_by_name(&self, name: &str) -> Result<Option<Cached<Service>>, CacheError> {
        self.map_by_name(name)
    }

    /// The service on `port`.
    pub fn service_by_port(&self, port: u16) -> Result<Option<Cached<Service>>, CacheError> {
        self.map_by_number(&port_key(port))
    }
}

impl<'c> Writer<'c> {
    fn map_parts<T: MapEntry>(
        &mut self,
    ) -> Result<(&mut heed::RwTxn<'c>, Db, &'c Cache), CacheError> {
        let (txn, cache) = self.parts();
        let db = db::<T>(cache)?;
        Ok((txn, db, cache))
    }

    /// Stores `e` in map `T`, fresh from `now` until `expire`, replacing the entry of the
    /// same name and removing any other entry that holds one of its number keys.
    pub fn put_map<T: MapEntry>(&mut self, e: &T, now: i64, expire: i64) -> Result<(), CacheError> {
        let (txn, db, cache) = self.map_parts::<T>()?;
        let max = cache.shared.max_name;
        let storable = |s: &[u8]| !s.is_empty() && s.len() < max;
        if !storable(e.name().as_bytes()) {
            return Err(CacheError::Invalid {
                path: cache.shared.path.clone(),
                reason: format!(
                    "{} entry name {:?} is empty or too long",
                    T::DB,
                    e.name().chars().take(40).collect::<String>()
                ),
            });
        }
        let lmdb = |e| cache.lmdb(e);
        // The old version of this entry, and the owners of its number keys.
        delete_entry::<T>(txn, db, cache, e.name())?;
        for k in e.number_keys() {
            if !storable(&k) {
                continue;
            }
            let owner: Option<String> = db
                .get(txn, &key(b'k', &k))
                .map_err(lmdb)?
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(|s| s.to_string());
            if let Some(o) = owner {
                delete_entry::<T>(txn, db, cache, &o)?;
            }
        }
        db.put(
            txn,
            &key(b'n', e.name().as_bytes()),
            &encode(e, now, expire),
        )
        .map_err(lmdb)?;
        for a in e.aliases() {
            if storable(a.as_bytes()) && a != e.name() {
                db.put(txn, &key(b'a', a.as_bytes()), e.name().as_bytes())
                    .map_err(lmdb)?;
            }
        }
        for k in e.number_keys() {
            if storable(&k) {
                db.put(txn, &key(b'k', &k), e.name().as_bytes())
                    .map_err(lmdb)?;
            }
        }
        Ok(())
    }

    /// Removes the entry of map `T` whose primary name is `name`, with its index keys.
    pub fn delete_map<T: MapEntry>(&mut self, name: &str) -> Result<(), CacheError> {
        let (txn, db, cache) = self.map_parts::<T>()?;
        delete_entry::<T>(txn, db, cache, name)
    }

    /// The entry of map `T` called `name` (or with that alias) as this transaction sees it.
    pub fn map_by_name<T: MapEntry>(
        &mut self,
        name: &str,
    ) -> Result<Option<Cached<T>>, CacheError> {
        let (txn, db, cache) = self.map_parts::<T>()?;
        Look { txn, db, cache }.by_name(name)
    }

    /// The entry of map `T` holding number key `k`, as this transaction sees it.
    pub fn map_by_number<T: MapEntry>(
        &mut self,
        k: &[u8],
    ) -> Result<Option<Cached<T>>, CacheError> {
        let (txn, db, cache) = self.map_parts::<T>()?;
        Look { txn, db, cache }.by_number(k)
    }

    /// Marks entries of map `T` expired, keeping them (and their last-update stamp) for
    /// offline use: the entry called `name` (primary name or alias), or every entry when
    /// `name` is `None` (`sss_cache -s NAME` / `-S`). Returns how many were marked.
    pub fn expire_map<T: MapEntry>(&mut self, name: Option<&str>) -> Result<usize, CacheError> {
        let (txn, db, cache) = self.map_parts::<T>()?;
        let targets: Vec<Cached<T>> = {
            let look = Look {
                txn: &*txn,
                db,
                cache,
            };
            match name {
                Some(n) => look.by_name(n)?.into_iter().collect(),
                None => look.all()?,
            }
        };
        for c in &targets {
            db.put(
                txn,
                &key(b'n', c.value.name().as_bytes()),
                &encode(&c.value, c.last_update, 0),
            )
            .map_err(|e| cache.lmdb(e))?;
        }
        Ok(targets.len())
    }

    /// Removes every entry of map `T` whose primary name is not in `keep`.
    pub fn prune_map<T: MapEntry>(&mut self, keep: &[String]) -> Result<(), CacheError> {
        let (txn, db, cache) = self.map_parts::<T>()?;
        let keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
        let all: Vec<Cached<T>> = Look {
            txn: &*txn,
            db,
            cache,
        }
        .all()?;
        for c in all {
            if !keep.contains(c.value.name()) {
                delete_entry::<T>(txn, db, cache, c.value.name())?;
            }
        }
        Ok(())
    }
}

/// One change to an entry of one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOp<T> {
    /// Store the entry fresh until the given expiry.
    Put(T, i64),
    /// Remove the entry with this primary name.
    Delete(String),
    /// Remove every entry whose primary name is not listed (after enumeration).
    Prune(Vec<String>),
}

/// One change to the services, hosts or networks map (a backend cache operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOp {
    /// The services map.
    Service(EntryOp<Service>),
    /// The hosts map.
    Host(EntryOp<IpHost>),
    /// The networks map.
    Network(EntryOp<IpNetwork>),
    /// A service lookup found nothing: remove the cached service it asked about (by
    /// `name` or by `port`), if it offers `proto` (any protocol when `None`).
    ServiceGone {
        /// The name asked for (primary name or alias).
        name: Option<String>,
        /// The port asked for.
        port: Option<u16>,
        /// The protocol asked for.
        proto: Option<String>,
    },
    /// SSH host keys fetched for the host requested as `name` (with `alias` when the
    /// client gave one), fresh until `expire`: stored as SSSD's `sysdb_store_ssh_host`
    /// does, keeping the aliases already recorded and the known hosts stamp.
    SshHostPut {
        /// The requested name.
        name: String,
        /// The requested alias.
        alias: Option<String>,
        /// The keys found.
        keys: Vec<Vec<u8>>,
        /// Expiry stamp.
        expire: i64,
    },
    /// The directory has no such host: forget the SSH host `name`.
    SshHostGone(String),
    /// A host or network lookup found nothing: remove the cached entry called `name` (or
    /// holding the number key `number`).
    Gone {
        /// Which map: [`IpHost::DB`] or [`IpNetwork::DB`].
        db: &'static str,
        /// The name asked for.
        name: Option<String>,
        /// The address asked for.
        number: Option<Vec<u8>>,
    },
}

impl Writer<'_> {
    fn apply_entry_op<T: MapEntry>(&mut self, op: &EntryOp<T>, now: i64) -> Result<(), CacheError> {
        match op {
            EntryOp::Put(e, expire) => self.put_map(e, now, *expire),
            EntryOp::Delete(n) => self.delete_map::<T>(n),
            EntryOp::Prune(keep) => self.prune_map::<T>(keep),
        }
    }

    /// Applies one map operation, stamping stored entries with `now`.
    pub fn apply_map_op(&mut self, op: &MapOp, now: i64) -> Result<(), CacheError> {
        match op {
            MapOp::Service(o) => self.apply_entry_op(o, now),
            MapOp::Host(o) => self.apply_entry_op(o, now),
            MapOp::Network(o) => self.apply_entry_op(o, now),
            MapOp::ServiceGone { name, port, proto } => {
                let cached: Option<Cached<Service>> = match (name, port) {
                    (Some(n), _) => self.map_by_name(n)?,
                    (None, Some(p)) => self.map_by_number(&port_key(*p))?,
                    (None, None) => None,
                };
                match cached {
                    Some(c) if proto.as_ref().is_none_or(|p| c.value.protocols.contains(p)) => {
                        self.delete_map::<Service>(&c.value.name)
                    }
                    _ => Ok(()),
                }
            }
            MapOp::SshHostPut {
                name,
                alias,
                keys,
                expire,
            } => {
                let (txn, db, cache) = self.map_parts::<SshHost>()?;
                let old: Option<Cached<SshHost>> = Look {
                    txn: &*txn,
                    db,
                    cache,
                }
                .by_primary(name)?;
                let mut aliases = old
                    .as_ref()
                    .map(|c| c.value.aliases.clone())
                    .unwrap_or_default();
                if let Some(a) = alias
                    && !aliases.contains(a)
                {
                    aliases.push(a.clone());
                }
                let h = SshHost {
                    name: name.clone(),
                    aliases,
                    keys: keys.clone(),
                    known_hosts_expire: old.map_or(0, |c| c.value.known_hosts_expire),
                };
                self.put_map(&h, now, *expire)
            }
            MapOp::SshHostGone(name) => self.delete_map::<SshHost>(name),
            MapOp::Gone { db, name, number } => {
                if *db == IpHost::DB {
                    self.gone::<IpHost>(name.as_deref(), number.as_deref())
                } else {
                    self.gone::<IpNetwork>(name.as_deref(), number.as_deref())
                }
            }
        }
    }

    fn gone<T: MapEntry>(
        &mut self,
        name: Option<&str>,
        number: Option<&[u8]>,
    ) -> Result<(), CacheError> {
        let cached: Option<Cached<T>> = match (name, number) {
            (Some(n), _) => self.map_by_name(n)?,
            (None, Some(k)) => self.map_by_number(k)?,
            (None, None) => None,
        };
        match cached {
            Some(c) => self.delete_map::<T>(c.value.name()),
            None => Ok(()),
        }
    }
}

fn delete_entry<T: MapEntry>(
    txn: &mut heed::RwTxn<'_>,
    db: Db,
    cache: &Cache,
    name: &str,
) -> Result<(), CacheError> {
    let lmdb = |e| cache.lmdb(e);
    let nk = key(b'n', name.as_bytes());
    let Some(raw) = db.get(txn, &nk).map_err(lmdb)? else {
        return Ok(());
    };
    // A damaged record is dropped with whatever index keys still point at its name.
    let old: Option<Cached<T>> = decode(raw);
    db.delete(txn, &nk).map_err(lmdb)?;
    let Some(old) = old else {
        return Ok(());
    };
    let points_here = |txn: &heed::RwTxn<'_>, k: &[u8]| -> Result<bool, CacheError> {
        Ok(db.get(txn, k).map_err(lmdb)? == Some(name.as_bytes()))
    };
    for a in old.value.aliases() {
        let k = key(b'a', a.as_bytes());
        if points_here(txn, &k)? {
            db.delete(txn, &k).map_err(lmdb)?;
        }
    }
    for n in old.value.number_keys() {
        let k = key(b'k', &n);
        if points_here(txn, &k)? {
            db.delete(txn, &k).map_err(lmdb)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, aliases: &[&str], port: u16, protos: &[&str]) -> Service {
        Service {
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            port,
            protocols: protos.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn ssh_hosts_keep_aliases_and_the_known_hosts_stamp_across_refreshes() {
        let (_d, c) = open();
        let put = |alias: Option<&str>, keys: Vec<Vec<u8>>| {
            let mut w = c.writer().unwrap();
            w.apply_map_op(
                &MapOp::SshHostPut {
                    name: "h.example.com".into(),
                    alias: alias.map(str::to_string),
                    keys,
                    expire: 500,
                },
                100,
            )
            .unwrap();
            w.commit().unwrap();
        };
        let bin = vec![0u8, 0, 0, 7, 0xff, b's'];
        put(Some("h"), vec![b"ssh-rsa AAAA".to_vec(), bin.clone()]);
        c.touch_ssh_known_host("h.example.com", 900).unwrap();
        put(Some("h2"), vec![bin.clone()]);
        let h = c.ssh_host("h.example.com").unwrap().unwrap();
        assert_eq!(h.value.aliases, vec!["h".to_string(), "h2".to_string()]);
        assert_eq!(h.value.keys, vec![bin]);
        assert_eq!(h.value.known_hosts_expire, 900);
        assert_eq!((h.last_update, h.expire), (100, 500));
        assert!(
            c.ssh_host("h").unwrap().is_none(),
            "found by the requested name only"
        );
        c.touch_ssh_known_host("absent", 900).unwrap();
        assert_eq!(c.ssh_hosts().unwrap().len(), 1);
        let mut w = c.writer().unwrap();
        w.apply_map_op(&MapOp::SshHostGone("h.example.com".into()), 100)
            .unwrap();
        w.commit().unwrap();
        assert!(c.ssh_host("h.example.com").unwrap().is_none());
    }

    fn open() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), "maps.test").unwrap();
        (dir, c)
    }

    #[test]
    fn services_by_name_alias_and_port() {
        let (_d, c) = open();
        let mut w = c.writer().unwrap();
        w.put_map(&svc("ssh", &["secure"], 22, &["tcp", "udp"]), 10, 100)
            .unwrap();
        w.put_map(&svc("http", &["www"], 80, &["tcp"]), 10, 100)
            .unwrap();
        w.commit().unwrap();
        let s = c.service_by_name("ssh").unwrap().unwrap();
        assert_eq!((s.value.port, s.last_update, s.expire), (22, 10, 100));
        assert_eq!(
            c.service_by_name("secure").unwrap().unwrap().value.name,
            "ssh"
        );
        assert_eq!(c.service_by_port(80).unwrap().unwrap().value.name, "http");
        assert!(c.service_by_port(81).unwrap().is_none());
        assert!(c.service_by_name("nope").unwrap().is_none());
        assert_eq!(c.map_all::<Service>().unwrap().len(), 2);
    }

    #[test]
    fn a_port_belongs_to_the_last_service_stored() {
        let (_d, c) = open();
        let mut w = c.writer().unwrap();
        w.put_map(&svc("old", &["o"], 99, &["tcp"]), 1, 2).unwrap();
        w.put_map(&svc("new", &[], 99, &["tcp"]), 1, 2).unwrap();
        w.commit().unwrap();
        assert!(c.service_by_name("old").unwrap().is_none());
        assert!(c.service_by_name("o").unwrap().is_none());
        assert_eq!(c.service_by_port(99).unwrap().unwrap().value.name, "new");
    }

    #[test]
    fn renumbering_and_alias_changes_leave_no_stale_keys() {
        let (_d, c) = open();
        let mut w = c.writer().unwrap();
        w.put_map(&svc("a", &["x"], 1, &["tcp"]), 1, 2).unwrap();
        w.put_map(&svc("a", &["y"], 2, &["tcp"]), 1, 2).unwrap();
        w.commit().unwrap();
        assert!(c.service_by_port(1).unwrap().is_none());
        assert!(c.service_by_name("x").unwrap().is_none());
        assert_eq!(c.service_by_name("y").unwrap().unwrap().value.port, 2);
    }

    #[test]
    fn prune_and_delete() {
        let (_d, c) = open();
        let mut w = c.writer().unwrap();
        for (i, n) in ["a", "b", "c"].iter().enumerate() {
            w.put_map(&svc(n, &[], i as u16 + 1, &["tcp"]), 1, 2)
                .unwrap();
        }
        w.prune_map::<Service>(&["b".into()]).unwrap();
        w.commit().unwrap();
        let all = c.map_all::<Service>().unwrap();
        assert_eq!(all.len(), 1);
        assert!(c.service_by_port(1).unwrap().is_none());
        let mut w = c.writer().unwrap();
        w.delete_map::<Service>("b").unwrap();
        w.commit().unwrap();
        assert!(c.map_all::<Service>().unwrap().is_empty());
    }

    #[test]
    fn expiring_keeps_the_entries_and_their_index_keys() {
        let (_d, c) = open();
        let mut w = c.writer().unwrap();
        w.put_map(&svc("ssh", &["secure"], 22, &["tcp"]), 10, 100)
            .unwrap();
        w.put_map(&svc("http", &["www"], 80, &["tcp"]), 10, 100)
            .unwrap();
        assert_eq!(w.expire_map::<Service>(Some("nope")).unwrap(), 0);
        // By alias: the entry it leads to.
        assert_eq!(w.expire_map::<Service>(Some("secure")).unwrap(), 1);
        w.commit().unwrap();
        let s = c.service_by_port(22).unwrap().unwrap();
        assert_eq!(
            (s.value.name.as_str(), s.last_update, s.expire),
            ("ssh", 10, 0)
        );
        assert_eq!(c.service_by_name("www").unwrap().unwrap().expire, 100);
        let mut w = c.writer().unwrap();
        assert_eq!(w.expire_map::<Service>(None).unwrap(), 2);
        w.commit().unwrap();
        let all = c.map_all::<Service>().unwrap();
        assert!(all.iter().all(|e| e.expire == 0 && e.last_update == 10));
        assert_eq!(c.service_by_name("www").unwrap().unwrap().value.port, 80);
    }

    #[test]
    fn hosts_and_networks() {
        let (_d, c) = open();
        let mut w = c.writer().unwrap();
        let h = IpHost {
            name: "web".into(),
            aliases: vec!["www".into()],
            addresses: vec!["10.0.0.1".into(), "fe80::1".into()],
        };
        w.put_map(&h, 1, 2).unwrap();
        let n = IpNetwork {
            name: "lab".into(),
            aliases: vec![],
            address: "10.1.0.0".into(),
        };
        w.put_map(&n, 1, 2).unwrap();
        w.commit().unwrap();
        assert_eq!(
            c.map_by_number::<IpHost>(b"fe80::1")
                .unwrap()
                .unwrap()
                .value,
            h
        );
        assert_eq!(c.map_by_name::<IpHost>("www").unwrap().unwrap().value, h);
        assert_eq!(
            c.map_by_number::<IpNetwork>(b"10.1.0.0")
                .unwrap()
                .unwrap()
                .value,
            n
        );
        assert!(c.map_by_name::<IpNetwork>("web").unwrap().is_none());
    }

    #[test]
    fn damaged_records_never_panic() {
        let good = encode(&svc("ssh", &["s"], 22, &["tcp"]), 1, 2);
        assert!(decode::<Service>(&good).is_some());
        for cut in 0..good.len() {
            assert!(decode::<Service>(&good[..cut]).is_none());
        }
        let mut bad = good.clone();
        bad[16] = 0xff;
        assert!(decode::<Service>(&bad).is_none());
    }
}
