//! The policy files: `GPT.INI` (the GPO's version) and the Security Settings template
//! `GptTmpl.inf` (UTF-16LE with a byte-order mark, INI syntax), read the lenient way SSSD's
//! INI parser does: lines without `=` and comments are skipped, section and key names
//! compare case-insensitively, the first value of a key wins.

use thiserror::Error;

/// A policy file that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InfError {
    /// The bytes are not text in a known encoding.
    #[error("{file}: {reason}")]
    Encoding {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// `[General] Version` is missing or not a number.
    #[error("{file}: no valid [General] Version")]
    NoVersion {
        /// The file.
        file: String,
    },
}

/// The text of a policy file: UTF-16LE/BE with a byte-order mark, or UTF-8 (with or
/// without one). Non-ASCII characters in values become `?`; in a section or key name they
/// make the file unusable (as SSSD).
pub fn decode(file: &str, bytes: &[u8]) -> Result<String, InfError> {
    let err = |reason: String| InfError::Encoding {
        file: file.to_string(),
        reason,
    };
    let text = if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        utf16(rest, u16::from_le_bytes).map_err(err)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        utf16(rest, u16::from_be_bytes).map_err(err)?
    } else {
        let rest = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
        String::from_utf8(rest.to_vec()).map_err(|e| err(format!("not UTF-8 or UTF-16: {e}")))?
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (key, value) = match line.find('=') {
            Some(i) => (&line[..i], &line[i..]),
            None => (line, ""),
        };
        if !key.is_ascii() {
            return Err(err(format!(
                "a section or key name holds a non-ASCII character: {:?}",
                key.trim()
            )));
        }
        out.push_str(key);
        out.extend(value.chars().map(|c| if c.is_ascii() { c } else { '?' }));
    }
    Ok(out)
}

fn utf16(b: &[u8], word: fn([u8; 2]) -> u16) -> Result<String, String> {
    if !b.len().is_multiple_of(2) {
        return Err("UTF-16 text of an odd number of bytes".into());
    }
    let units: Vec<u16> = b.chunks_exact(2).map(|c| word([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|e| format!("malformed UTF-16: {e}"))
}

/// The first value of `key` in `[section]` of `text`.
pub fn value<'a>(text: &'a str, section: &str, key: &str) -> Option<&'a str> {
    let mut current = "";
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with(';') || l.starts_with('#') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = name.trim();
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        if current.eq_ignore_ascii_case(section) && k.trim().eq_ignore_ascii_case(key) {
            return Some(v.trim());
        }
    }
    None
}

/// The version in a `GPT.INI`.
pub fn gpt_version(file: &str, bytes: &[u8]) -> Result<i32, InfError> {
    let text = decode(file, bytes)?;
    value(&text, "General", "Version")
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or_else(|| InfError::NoVersion {
            file: file.to_string(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        let mut b = vec![0xff, 0xfe];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b
    }

    #[test]
    fn reads_utf16_templates() {
        let b = utf16le(
            "[Unicode]\r\nUnicode=yes\r\n[Privilege Rights]\r\nSeDenyInteractiveLogonRight = *S-1-5-21-1-2-3-1106\r\n\
             seinteractivelogonright = *S-1-5-32-544,*S-1-5-21-1-2-3-1107\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\n",
        );
        let t = decode("GptTmpl.inf", &b).unwrap();
        assert_eq!(
            value(&t, "privilege rights", "SeDenyInteractiveLogonRight"),
            Some("*S-1-5-21-1-2-3-1106")
        );
        assert_eq!(
            value(&t, "Privilege Rights", "SeInteractiveLogonRight"),
            Some("*S-1-5-32-544,*S-1-5-21-1-2-3-1107")
        );
        assert_eq!(value(&t, "Privilege Rights", "SeBatchLogonRight"), None);
    }

    #[test]
    fn versions_and_bad_files() {
        assert_eq!(
            gpt_version("GPT.INI", b"[General]\r\nVersion=65538\r\n").unwrap(),
            65538
        );
        assert!(gpt_version("GPT.INI", b"[General]\r\ndisplayName=x\r\n").is_err());
        assert!(decode("x", &[0xff, 0xfe, 0x41]).is_err());
        assert!(decode("x", &[0xc3]).is_err());
        assert!(decode("x", "[S]\nk\u{e9}y=1\n".as_bytes()).is_err());
        assert_eq!(
            decode("x", "[S]\nkey=v\u{e9}\n".as_bytes()).unwrap(),
            "[S]\nkey=v?\n"
        );
    }
}
