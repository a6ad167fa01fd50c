//! An uncompressed "newc" cpio archive (Linux
//! Documentation/driver-api/early-userspace/buffer-format.rst), appended to
//! the cached gzip'd base initramfs: the kernel unpacks every archive in the
//! concatenation, later entries replacing earlier ones.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Builds a newc archive in memory.
#[derive(Debug, Default)]
pub(crate) struct Newc {
    buf: Vec<u8>,
    dirs: BTreeSet<String>,
    ino: u32,
}

fn pad4(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

impl Newc {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.ino = self.ino.wrapping_add(1);
        let namesize = name.len().saturating_add(1);
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime
            u32::try_from(data.len()).unwrap_or(u32::MAX),
            0,
            0,
            0,
            0,
            u32::try_from(namesize).unwrap_or(u32::MAX),
            0, // check
        ];
        for f in fields {
            let _ = write!(header, "{f:08x}");
        }
        self.buf.extend_from_slice(header.as_bytes());
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        pad4(&mut self.buf);
        self.buf.extend_from_slice(data);
        pad4(&mut self.buf);
    }

    /// Adds `dir` and its ancestors (relative, without a leading `/`).
    fn dirs_for(&mut self, path: &str) {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((_, ancestors)) = parts.split_last() else {
            return;
        };
        for part in ancestors {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.dirs.insert(prefix.clone()) {
                let name = prefix.clone();
                self.entry(&name, 0o040_755, &[]);
            }
        }
    }

    /// Adds a regular file at absolute guest path `path` with permission
    /// bits `perm` (e.g. 0o755), creating its parent directories.
    pub(crate) fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
        let rel = path.trim_start_matches('/');
        self.dirs_for(rel);
        self.entry(rel, 0o100_000 | (perm & 0o7777), data);
    }

    /// Appends the trailer and returns the archive.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::Newc;

    #[test]
    fn layout_matches_newc() {
        let mut a = Newc::default();
        a.file("/dsas/x", 0o755, b"hi\n");
        let bytes = a.finish();
        // "dsas" directory, then the file, then the trailer; each header 110 bytes.
        assert_eq!(&bytes[..6], b"070701");
        let dir_mode = &bytes[14..22];
        assert_eq!(dir_mode, b"000041ed");
        assert_eq!(&bytes[110..115], b"dsas\0");
        // 110 + 5 = 115 -> padded to 116.
        let file = &bytes[116..];
        assert_eq!(&file[14..22], b"000081ed");
        assert_eq!(&file[54..62], b"00000003"); // filesize
        assert_eq!(&file[94..102], b"00000007"); // namesize "dsas/x\0"
        assert_eq!(&file[110..117], b"dsas/x\0");
        // 110 + 7 = 117 -> 120; data at 120.
        assert_eq!(&file[120..123], b"hi\n");
        assert_eq!(bytes.len() % 4, 0);
        assert!(bytes.windows(10).any(|w| w == b"TRAILER!!!"));
    }
}
