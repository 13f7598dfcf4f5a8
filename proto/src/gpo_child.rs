//! The `gpo_child` exchange: the backend asks for files of a Group Policy's sysvol folder
//! over SMB, the helper answers with each file's bytes or the errno that stopped it.
//!
//! Request: `u32` count, then that many strings (`u32` length + UTF-8 bytes): the Kerberos
//! ccache to authenticate with, then one `smb://` URL per file. Reply: `u32` count, then per
//! file a `u32` errno (0: read), a `u32` length and the bytes. All integers little-endian.

use crate::ProtoError;

/// Most files one request may name.
pub const MAX_FILES: usize = 16;
/// Largest file the helper returns (GptTmpl.inf and GPT.INI are a few KiB).
pub const MAX_FILE: usize = 4 * 1024 * 1024;

/// What the backend asks the helper for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpoChildRequest {
    /// The ccache holding the machine account's TGT (`FILE:...`).
    pub ccache: String,
    /// The files, as `smb://server/share/path` URLs.
    pub urls: Vec<String>,
}

/// One file of the reply: its bytes, or the errno that stopped the read (`ENOENT`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpoFile {
    /// The file's content.
    Data(Vec<u8>),
    /// The read failed with this errno.
    Error(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let s = self
            .at
            .checked_add(n)
            .and_then(|end| self.buf.get(self.at..end))
            .ok_or(ProtoError::Truncated {
                offset: self.at,
                needed: n,
                available: self.buf.len().saturating_sub(self.at),
            })?;
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, ProtoError> {
        let b: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| ProtoError::BadLength(4))?;
        Ok(u32::from_le_bytes(b))
    }
    fn count(&mut self) -> Result<usize, ProtoError> {
        let n = self.u32()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_FILES + 1)
            .ok_or(ProtoError::BadLength(n))
    }
    fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let n = self.u32()?;
        let len = usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_FILE)
            .ok_or(ProtoError::BadLength(n))?;
        self.take(len)
    }
    fn string(&mut self) -> Result<String, ProtoError> {
        let at = self.at;
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtoError::InvalidUtf8(at))
    }
    fn end(&self) -> Result<(), ProtoError> {
        match self.buf.len().saturating_sub(self.at) {
            0 => Ok(()),
            n => Err(ProtoError::Trailing(n)),
        }
    }
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(b);
}

/// Encodes a request.
pub fn encode_gpo_request(req: &GpoChildRequest) -> Vec<u8> {
    let mut out = Vec::new();
    let n = u32::try_from(req.urls.len() + 1).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    put(&mut out, req.ccache.as_bytes());
    for u in &req.urls {
        put(&mut out, u.as_bytes());
    }
    out
}

/// Decodes a request; at least the ccache, at most [`MAX_FILES`] URLs.
pub fn decode_gpo_request(buf: &[u8]) -> Result<GpoChildRequest, ProtoError> {
    let mut r = Reader { buf, at: 0 };
    let n = r.count()?;
    if n == 0 {
        return Err(ProtoError::BadLength(0));
    }
    let ccache = r.string()?;
    let mut urls = Vec::with_capacity(n - 1);
    for _ in 1..n {
        urls.push(r.string()?);
    }
    r.end()?;
    Ok(GpoChildRequest { ccache, urls })
}

/// Encodes a reply.
pub fn encode_gpo_reply(files: &[GpoFile]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(files.len()).unwrap_or(u32::MAX).to_le_bytes());
    for f in files {
        match f {
            GpoFile::Data(d) => {
                out.extend_from_slice(&0u32.to_le_bytes());
                put(&mut out, d);
            }
            GpoFile::Error(e) => {
                out.extend_from_slice(&e.max(&1).to_le_bytes());
                put(&mut out, &[]);
            }
        }
    }
    out
}

/// Decodes a reply (at most [`MAX_FILES`] files of at most [`MAX_FILE`] bytes).
pub fn decode_gpo_reply(buf: &[u8]) -> Result<Vec<GpoFile>, ProtoError> {
    let mut r = Reader { buf, at: 0 };
    let n = r.count()?;
    let mut files = Vec::with_capacity(n);
    for _ in 0..n {
        let errno = r.u32()?;
        let data = r.bytes()?;
        files.push(if errno == 0 {
            GpoFile::Data(data.to_vec())
        } else {
            GpoFile::Error(errno)
        });
    }
    r.end()?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let req = GpoChildRequest {
            ccache: "FILE:/var/lib/sss/db/ccache_R".into(),
            urls: vec!["smb://dc/SysVol/r/Policies/{X}/GPT.INI".into()],
        };
        assert_eq!(decode_gpo_request(&encode_gpo_request(&req)).unwrap(), req);
        let files = vec![
            GpoFile::Data(b"[General]\r\nVersion=3\r\n".to_vec()),
            GpoFile::Error(2),
        ];
        assert_eq!(decode_gpo_reply(&encode_gpo_reply(&files)).unwrap(), files);
        let enc = encode_gpo_reply(&files);
        assert!(decode_gpo_reply(&enc[..enc.len() - 1]).is_err());
        let mut long = enc.clone();
        long.push(0);
        assert!(decode_gpo_reply(&long).is_err());
        assert!(decode_gpo_request(&[0, 0, 0, 0]).is_err());
        assert!(decode_gpo_reply(&[255, 255, 255, 255]).is_err());
        assert!(decode_gpo_reply(&[1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]).is_err());
    }
}
