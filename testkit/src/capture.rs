//! Live capture inside a namespace with `dumpcap` (tshark's capture engine),
//! decoded afterwards by [`crate::tshark::decode_pcap`].
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ns = testkit::Netns::new("doc")?;
//! let capture = testkit::capture::Capture::start(&ns, "veth0")?;
//! // ... make traffic ...
//! let packets = capture.stop_and_decode()?;
//! assert!(packets.iter().any(|p| p.field("arp.opcode").as_deref() == Some("1")));
//! # Ok(()) }
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::exec::{Child, TempDir, wait_for};
use crate::netns::Netns;
use crate::tshark::{Packet, TsharkError, decode_pcap};

/// How long [`Capture::start`] waits for dumpcap to open the interface.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`Capture::stop`] lets in-flight frames reach the file before
/// stopping dumpcap (it flushes the file every 100 ms).
pub const SETTLE: Duration = Duration::from_millis(300);

/// A running capture (`dumpcap -i IF -w FILE` inside a namespace), stopped
/// on drop if not stopped explicitly.
#[derive(Debug)]
pub struct Capture {
    child: Child,
    file: PathBuf,
    iface: String,
    // Dropped after `child`, so dumpcap is gone before its file is removed.
    dir: TempDir,
}

impl Capture {
    /// Starts capturing every frame on `iface` inside `ns` and returns once
    /// dumpcap has opened the interface and written the file header (later
    /// frames are recorded).
    ///
    /// # Errors
    /// dumpcap missing, failing or not starting within [`START_TIMEOUT`].
    pub fn start(ns: &Netns, iface: &str) -> io::Result<Self> {
        Self::start_filtered(ns, iface, None)
    }

    /// As [`Self::start`] with a capture filter (pcap-filter(7), e.g. `"arp"`).
    ///
    /// # Errors
    /// As [`Self::start`]; an invalid filter makes dumpcap exit early.
    pub fn start_filtered(ns: &Netns, iface: &str, filter: Option<&str>) -> io::Result<Self> {
        let program = crate::find_tool("dumpcap").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "dumpcap not found (apt-get install tshark)",
            )
        })?;
        let program = program.to_string_lossy().into_owned();
        let dir = TempDir::new()?;
        let file = dir.path().join(format!("{iface}.pcapng"));
        let file_arg = file.to_string_lossy().into_owned();
        let mut args = vec![program.as_str(), "-i", iface, "-w", file_arg.as_str()];
        if let Some(filter) = filter {
            args.extend_from_slice(&["-f", filter]);
        }
        let mut child = ns.spawn(&args)?;
        child.wait_for_stderr("Capturing on", START_TIMEOUT)?;
        // dumpcap prints "Capturing on" before it opens the interface; the
        // file (section and interface blocks) is written only once the
        // socket is live, so a non-empty file means later frames are seen.
        let mut exited = None;
        let written = wait_for(
            || {
                exited = child.try_wait().ok().flatten();
                exited.is_some() || file.metadata().is_ok_and(|m| m.len() > 0)
            },
            START_TIMEOUT,
        );
        if !written || exited.is_some() {
            return Err(io::Error::other(format!(
                "`{}` did not start capturing ({}): {}",
                child.cmdline(),
                exited.map_or_else(
                    || format!("no file after {START_TIMEOUT:?}"),
                    |s| s.to_string()
                ),
                child.stderr().unwrap_or_default().trim_end()
            )));
        }
        Ok(Self {
            child,
            file,
            iface: iface.to_owned(),
            dir,
        })
    }

    /// The capture file (pcapng), growing while the capture runs.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The captured interface.
    #[must_use]
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Waits [`SETTLE`], stops dumpcap (SIGINT, which flushes and closes the
    /// file) and returns the finished file.
    ///
    /// # Errors
    /// dumpcap failing to stop or reporting an error.
    pub fn stop(self) -> io::Result<CaptureFile> {
        self.stop_after(SETTLE)
    }

    /// As [`Self::stop`] with an explicit settle time.
    ///
    /// # Errors
    /// As [`Self::stop`].
    pub fn stop_after(mut self, settle: Duration) -> io::Result<CaptureFile> {
        std::thread::sleep(settle);
        let status = self
            .child
            .stop_with(Signal::SIGINT, Duration::from_secs(5))?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "`{}` exited with {status}: {}",
                self.child.cmdline(),
                self.child.stderr().unwrap_or_default().trim_end()
            )));
        }
        let Self {
            child, file, dir, ..
        } = self;
        drop(child);
        Ok(CaptureFile { file, _dir: dir })
    }

    /// [`Self::stop`] then [`CaptureFile::decode`].
    ///
    /// # Errors
    /// As both.
    pub fn stop_and_decode(self) -> Result<Vec<Packet>, TsharkError> {
        self.stop()?.decode()
    }
}

/// A finished capture file, removed on drop (kept when panicking).
#[derive(Debug)]
pub struct CaptureFile {
    file: PathBuf,
    _dir: TempDir,
}

impl CaptureFile {
    /// The pcapng file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Decodes it with tshark ([`decode_pcap`]).
    ///
    /// # Errors
    /// tshark missing or failing.
    pub fn decode(&self) -> Result<Vec<Packet>, TsharkError> {
        decode_pcap(&self.file)
    }

    /// Copies the file to `dest` (to keep it past the test).
    ///
    /// # Errors
    /// Copy errors.
    pub fn persist(&self, dest: impl AsRef<Path>) -> io::Result<()> {
        std::fs::copy(&self.file, dest).map(drop)
    }
}
