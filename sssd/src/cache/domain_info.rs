//! What the backend learned about its domain from the directory and the responders read
//! back: the flat (NetBIOS) name of an AD domain, kept in the `meta` database so that it
//! survives restarts and reaches every process that opens the cache.

use super::reader::Reader;
use super::{Cache, CacheError, Writer};

/// Key of the learned flat name in the meta database.
const FLAT_NAME_KEY: &[u8] = b"domain:flat_name";

/// Longest flat name accepted (NetBIOS names have 15 characters; DNS-like ones are kept
/// short too).
const MAX_FLAT_NAME: usize = 255;

/// Whether `flat` can be stored as a flat name: not empty, short, printable, and with
/// none of the characters that separate names from domains.
pub fn valid_flat_name(flat: &str) -> bool {
    !flat.is_empty()
        && flat.len() <= MAX_FLAT_NAME
        && flat
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '\\' | '@' | '/'))
}

impl Reader<'_> {
    /// The learned flat name, if one was recorded (a malformed record reads as none).
    pub(crate) fn flat_name(&self) -> Result<Option<String>, CacheError> {
        let raw = self
            .dbs()
            .meta
            .get(self.txn(), FLAT_NAME_KEY)
            .map_err(|e| self.lmdb_error(e))?;
        Ok(raw
            .and_then(|b| std::str::from_utf8(b).ok())
            .filter(|s| valid_flat_name(s))
            .map(str::to_string))
    }
}

impl Cache {
    /// The flat (NetBIOS) name the backend learned from the domain's controllers, if any.
    pub fn flat_name(&self) -> Result<Option<String>, CacheError> {
        self.read(|r| r.flat_name())
    }

    /// Makes the flat name recorded here the one this process uses for `domain` (see
    /// [`crate::config::learned`]); returns it when that changed what the process knew.
    pub fn adopt_flat_name(&self, domain: &str) -> Result<Option<String>, CacheError> {
        Ok(self
            .flat_name()?
            .filter(|flat| crate::config::learned::remember_flat_name(domain, flat)))
    }
}

impl Writer<'_> {
    /// Records `flat` as the domain's learned flat name.
    pub fn set_flat_name(&mut self, flat: &str) -> Result<(), CacheError> {
        if !valid_flat_name(flat) {
            let shown: String = flat.chars().take(40).collect();
            return Err(CacheError::Invalid {
                path: self.cache_path(),
                reason: format!("flat name {shown:?} is empty, too long or has a separator"),
            });
        }
        let db = self.dbs().meta;
        self.put(&db, FLAT_NAME_KEY, flat.as_bytes())
    }
}

/// Takes the flat names the backends recorded under `db_dir` for the AD domains among
/// `domains` as this process's (see [`crate::config::learned`]), for the tools that parse
/// `DOMAIN\\name`. Caches that do not exist are not created; unreadable ones are skipped.
pub fn load_learned_flat_names(db_dir: &std::path::Path, domains: &[crate::config::DomainOptions]) {
    for d in domains.iter().filter(|d| d.flat_name.is_some()) {
        if let Ok(Some(cache)) = Cache::open_existing(db_dir, &d.name) {
            let _ = cache.adopt_flat_name(&d.name);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_flat_name_is_kept_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "corp.example.com").unwrap();
        assert_eq!(cache.flat_name().unwrap(), None);
        let mut w = cache.writer().unwrap();
        w.set_flat_name("CORPNET").unwrap();
        w.commit().unwrap();
        assert_eq!(cache.flat_name().unwrap().as_deref(), Some("CORPNET"));
        let again = Cache::open(dir.path(), "corp.example.com").unwrap();
        assert_eq!(again.flat_name().unwrap().as_deref(), Some("CORPNET"));
    }

    #[test]
    fn tools_take_the_recorded_flat_names_of_ad_domains() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "tools.example.com").unwrap();
        let mut w = cache.writer().unwrap();
        w.set_flat_name("TOOLSNET").unwrap();
        w.commit().unwrap();
        let mut ad = crate::config::DomainOptions::defaults("tools.example.com", "ad");
        ad.flat_name = Some("TOOLS".into());
        let missing = crate::config::DomainOptions::defaults("nocache.example.com", "ad");
        load_learned_flat_names(dir.path(), &[ad.clone(), missing]);
        assert!(ad.is_named("TOOLSNET") && !ad.is_named("TOOLS"));
        assert!(!dir.path().join("cache_nocache.example.com").exists());
    }

    #[test]
    fn malformed_flat_names_are_refused() {
        for bad in ["", "A\\B", "a@b", "with space", "x\u{1}", &"N".repeat(300)] {
            assert!(!valid_flat_name(bad), "{bad:?}");
        }
        assert!(valid_flat_name("CORP-NET_1"));
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "d").unwrap();
        let mut w = cache.writer().unwrap();
        assert!(w.set_flat_name("A\\B").is_err());
    }
}
