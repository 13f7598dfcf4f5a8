//! `ldap_tls_cipher_suite` (and `TLS_CIPHER_SUITE` of ldap.conf): an OpenSSL-style cipher
//! string mapped onto the cipher suites rustls implements.
//!
//! The string is a list of elements separated by `:`, `,` or spaces. An element names a suite
//! (OpenSSL name such as `ECDHE-RSA-AES128-GCM-SHA256`, or IANA name such as
//! `TLS_AES_128_GCM_SHA256`), an alias (`HIGH`, `ECDHE`, `AESGCM`, ...), or several aliases
//! joined by `+` (their intersection). A `!` prefix removes for good, `-` removes (a later
//! element may add back), `+` moves to the end; `@STRENGTH` sorts by key length and other
//! `@` directives are accepted. As with OpenSSL under libldap, aliases select TLS 1.2 suites
//! only; the TLS 1.3 suites are those named explicitly, all three when none is. When the
//! string names TLS 1.3 suites only, TLS 1.2 is disabled. Anything naming a suite rustls
//! lacks (CBC, RSA key exchange, DHE, ...) or an unknown word is refused.

use rustls::CipherSuite as Id;

/// One cipher suite rustls (ring provider) implements.
struct Suite {
    id: Id,
    /// OpenSSL's name.
    openssl: &'static str,
    /// The IANA name.
    iana: &'static str,
    tls13: bool,
    /// `ECDSA`, `RSA` or (TLS 1.3) `ANY`.
    auth: &'static str,
    /// `AES128`, `AES256`, `CHACHA20`.
    enc: &'static str,
    /// `SHA256`, `SHA384`.
    hash: &'static str,
    /// Symmetric key bits.
    bits: u16,
}

#[allow(clippy::too_many_arguments)] // one table row, named by the field order above
const fn suite(
    id: Id,
    openssl: &'static str,
    iana: &'static str,
    tls13: bool,
    auth: &'static str,
    enc: &'static str,
    hash: &'static str,
    bits: u16,
) -> Suite {
    Suite {
        id,
        openssl,
        iana,
        tls13,
        auth,
        enc,
        hash,
        bits,
    }
}

/// Every suite, in rustls's default preference order.
const SUITES: [Suite; 9] = [
    suite(
        Id::TLS13_AES_256_GCM_SHA384,
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_256_GCM_SHA384",
        true,
        "ANY",
        "AES256",
        "SHA384",
        256,
    ),
    suite(
        Id::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_128_GCM_SHA256",
        true,
        "ANY",
        "AES128",
        "SHA256",
        128,
    ),
    suite(
        Id::TLS13_CHACHA20_POLY1305_SHA256,
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
        true,
        "ANY",
        "CHACHA20",
        "SHA256",
        256,
    ),
    suite(
        Id::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        false,
        "ECDSA",
        "AES256",
        "SHA384",
        256,
    ),
    suite(
        Id::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        false,
        "ECDSA",
        "AES128",
        "SHA256",
        128,
    ),
    suite(
        Id::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        false,
        "ECDSA",
        "CHACHA20",
        "SHA256",
        256,
    ),
    suite(
        Id::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        false,
        "RSA",
        "AES256",
        "SHA384",
        256,
    ),
    suite(
        Id::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        false,
        "RSA",
        "AES128",
        "SHA256",
        128,
    ),
    suite(
        Id::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        false,
        "RSA",
        "CHACHA20",
        "SHA256",
        256,
    ),
];

/// OpenSSL aliases whose suites rustls lacks entirely: accepted (they select nothing).
const EMPTY_ALIASES: &[&str] = &[
    "MEDIUM",
    "LOW",
    "EXPORT",
    "EXP",
    "NULL",
    "ENULL",
    "ANULL",
    "RC4",
    "3DES",
    "DES",
    "MD5",
    "SHA1",
    "SHA",
    "PSK",
    "APSK",
    "KPSK",
    "ECDHEPSK",
    "DHEPSK",
    "RSAPSK",
    "SRP",
    "DSS",
    "ADSS",
    "DH",
    "DHE",
    "EDH",
    "KDHE",
    "KEDH",
    "ADH",
    "AECDH",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "SEED",
    "IDEA",
    "RC2",
    "KRSA",
    "RSA",
    "SSLV3",
    "TLSV1",
    "TLSV1.0",
    "AESCCM",
    "AESCCM8",
    "COMPLEMENTOFDEFAULT",
    "COMPLEMENTOFALL",
    "GOST",
    "KGOST",
    "AGOST",
];

/// Whether the TLS 1.2 `suite` belongs to the (uppercased) alias `alias`; `None` when the
/// alias is unknown.
fn in_alias(alias: &str, s: &Suite) -> Option<bool> {
    let all = ["ALL", "DEFAULT", "HIGH", "TLSV1.2", "AEAD"];
    let ecdhe = ["ECDHE", "EECDH", "KECDHE", "KEECDH"];
    Some(if all.contains(&alias) || ecdhe.contains(&alias) {
        true
    } else if EMPTY_ALIASES.contains(&alias) {
        false
    } else {
        match alias {
            "AECDSA" | "ECDSA" => s.auth == "ECDSA",
            "ARSA" => s.auth == "RSA",
            "AES" => s.enc.starts_with("AES"),
            "AESGCM" => s.enc.starts_with("AES"),
            "AES128" => s.enc == "AES128",
            "AES256" => s.enc == "AES256",
            "CHACHA20" => s.enc == "CHACHA20",
            "SHA256" => s.hash == "SHA256",
            "SHA384" => s.hash == "SHA384",
            _ => return None,
        }
    })
}

/// The suites an element (without operator) selects, or why it cannot be used.
fn select(word: &str) -> Result<Vec<usize>, String> {
    let upper = word.to_ascii_uppercase();
    if let Some(i) = SUITES
        .iter()
        .position(|s| s.openssl == upper || s.iana == upper)
    {
        return Ok(vec![i]);
    }
    let mut picked: Vec<usize> = (0..SUITES.len()).filter(|&i| !SUITES[i].tls13).collect();
    for part in upper.split('+') {
        let mut keep = Vec::new();
        for &i in &picked {
            match in_alias(part, &SUITES[i]) {
                Some(true) => keep.push(i),
                Some(false) => {}
                None => {
                    return Err(format!(
                        "{word:?} is neither an alias nor a cipher suite rustls implements \
                         (available: {})",
                        available()
                    ));
                }
            }
        }
        picked = keep;
    }
    Ok(picked)
}

fn available() -> String {
    SUITES
        .iter()
        .map(|s| s.openssl)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The suites a cipher string allows, in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherSpec {
    /// TLS 1.3 suites then TLS 1.2 suites; a protocol version without any suite is off.
    pub suites: Vec<Id>,
}

impl CipherSpec {
    /// Whether TLS 1.2 suites remain.
    pub fn tls12(&self) -> bool {
        self.suites.iter().any(|id| !is_tls13(*id))
    }

    /// Whether TLS 1.3 suites remain.
    pub fn tls13(&self) -> bool {
        self.suites.iter().any(|id| is_tls13(*id))
    }

    /// Parses a cipher string; the error says which element cannot be expressed.
    pub fn parse(text: &str) -> Result<CipherSpec, String> {
        let mut tls12: Vec<usize> = Vec::new();
        let mut tls13: Vec<usize> = Vec::new();
        let mut banned: Vec<usize> = Vec::new();
        let mut named13 = false;
        let mut tls12_elements = false;
        for elem in text
            .split([':', ',', ' ', '\t'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if let Some(dir) = elem.strip_prefix('@') {
                let d = dir.to_ascii_uppercase();
                if d == "STRENGTH" {
                    tls12.sort_by_key(|&i| std::cmp::Reverse(SUITES[i].bits));
                } else if !d.starts_with("SECLEVEL=") {
                    return Err(format!("unknown directive {elem:?}"));
                }
                continue;
            }
            let (op, word) = match elem.chars().next() {
                Some(c @ ('!' | '-' | '+')) => (c, &elem[1..]),
                _ => (' ', elem),
            };
            let picked = select(word)?;
            let is13 = picked.len() == 1 && SUITES[picked[0]].tls13;
            match op {
                '!' | '-' => {
                    tls12.retain(|i| !picked.contains(i));
                    tls13.retain(|i| !picked.contains(i));
                    if op == '!' {
                        banned.extend(&picked);
                    }
                }
                '+' => {
                    for list in [&mut tls12, &mut tls13] {
                        let (moved, rest): (Vec<usize>, Vec<usize>) =
                            list.iter().partition(|i| picked.contains(i));
                        *list = rest.into_iter().chain(moved).collect();
                    }
                }
                _ => {
                    if is13 {
                        named13 = true;
                    } else {
                        tls12_elements = true;
                    }
                    let list = if is13 { &mut tls13 } else { &mut tls12 };
                    for i in picked {
                        if !banned.contains(&i) && !list.contains(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        if tls12_elements && tls12.is_empty() {
            return Err(format!(
                "{text:?} selects no TLS 1.2 cipher suite rustls implements (available: {})",
                available()
            ));
        }
        if !named13 {
            if !tls12_elements {
                return Err(format!("{text:?} names no cipher suite"));
            }
            tls13 = (0..SUITES.len())
                .filter(|&i| SUITES[i].tls13 && !banned.contains(&i))
                .collect();
        } else if tls13.is_empty() && tls12.is_empty() {
            return Err(format!("{text:?} leaves no cipher suite"));
        }
        Ok(CipherSpec {
            suites: tls13
                .into_iter()
                .chain(tls12)
                .map(|i| SUITES[i].id)
                .collect(),
        })
    }
}

/// Whether `id` is a TLS 1.3 suite.
fn is_tls13(id: Id) -> bool {
    SUITES.iter().any(|s| s.id == id && s.tls13)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(t: &str) -> Vec<Id> {
        CipherSpec::parse(t).unwrap().suites
    }

    #[test]
    fn high_keeps_every_suite() {
        let s = CipherSpec::parse("HIGH:!aNULL:!MD5:@STRENGTH").unwrap();
        assert_eq!(s.suites.len(), 9);
        assert!(s.tls12() && s.tls13());
    }

    #[test]
    fn explicit_tls12_names_keep_the_default_tls13_suites() {
        let s = ids("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
        assert_eq!(
            &s[3..],
            [
                Id::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                Id::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            ]
        );
        assert_eq!(s.len(), 5);
    }

    #[test]
    fn tls13_names_alone_disable_tls12() {
        let s = CipherSpec::parse("TLS_AES_256_GCM_SHA384").unwrap();
        assert_eq!(s.suites, [Id::TLS13_AES_256_GCM_SHA384]);
        assert!(!s.tls12());
    }

    #[test]
    fn aliases_combine_and_remove() {
        let s = ids("ECDHE+AESGCM:-aRSA:!AES256");
        assert_eq!(&s[3..], [Id::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]);
        // `!` bans for good, `-` lets a later element add back.
        // Aliases only touch TLS 1.2 suites: TLS_CHACHA20_POLY1305_SHA256 stays.
        assert_eq!(ids("HIGH:!CHACHA20:CHACHA20").len(), 9 - 2);
        assert_eq!(ids("HIGH:-CHACHA20:CHACHA20").len(), 9);
        let moved = ids("HIGH:+aRSA");
        assert_eq!(moved[8], Id::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
        assert_eq!(moved[5], Id::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
    }

    #[test]
    fn unimplemented_or_unknown_suites_are_refused() {
        for bad in [
            "AES256-SHA256",
            "DHE-RSA-AES256-GCM-SHA384",
            "HIGH:bogus",
            "MEDIUM",
            "!HIGH",
            "HIGH:@FOO",
        ] {
            assert!(CipherSpec::parse(bad).is_err(), "{bad}");
        }
        let e = CipherSpec::parse("AES128-SHA").unwrap_err();
        assert!(e.contains("AES128-SHA") && e.contains("available"), "{e}");
    }
}
