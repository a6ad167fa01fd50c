//! Building and locating the cached guest image (`lab/build.sh`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use super::LabError;

/// The build script and guest init, embedded so that test binaries and the
/// CLI work from any directory.
const BUILD_SH: &str = include_str!("../../../lab/build.sh");
const INIT: &str = include_str!("../../../lab/init");

/// Entry point for building the lab image.
#[derive(Debug)]
pub struct Lab;

/// A built guest image: kernel, base initramfs and the list of its files.
#[derive(Debug, Clone)]
pub struct LabImage {
    /// The image directory, `<cache>/<kernel version>`.
    pub dir: PathBuf,
    /// Kernel version (`uname -r` in the guest), e.g. `6.1.0-56-amd64`.
    pub kernel_version: String,
    /// The kernel qemu boots: the uncompressed `vmlinux` when available.
    pub kernel: PathBuf,
    /// Base initramfs (gzip'd newc, 4-byte padded).
    pub initrd: PathBuf,
    /// Absolute paths present in the base initramfs (libraries already there
    /// are not copied again with per-run binaries).
    pub base_files: Arc<BTreeSet<String>>,
}

static BUILT: Mutex<Option<LabImage>> = Mutex::new(None);

impl Lab {
    /// The cache directory: `$DSAS_LAB_CACHE`, else `lab/cache` in the
    /// workspace (git-ignored).
    #[must_use]
    pub fn cache_dir() -> PathBuf {
        std::env::var_os("DSAS_LAB_CACHE").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../lab/cache"),
            PathBuf::from,
        )
    }

    /// Builds the image unless a finished one for the current kernel
    /// package (and current build script) is cached; concurrent callers,
    /// in this process or others, serialise on `<cache>/.lock`.
    ///
    /// # Errors
    /// [`LabError::Build`] with the script's output tail (e.g. the apt
    /// error of a failed download), or [`LabError::Io`].
    pub fn ensure_built() -> Result<LabImage, LabError> {
        let mut memo = BUILT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(image) = memo.as_ref() {
            return Ok(image.clone());
        }
        let cache = Self::cache_dir();
        std::fs::create_dir_all(&cache)
            .map_err(|e| LabError::io(format!("creating {}", cache.display()), e))?;
        let scripts = tempdir("dsas-lab-build")?;
        let result = Self::run_build(&cache, &scripts);
        let _ = std::fs::remove_dir_all(&scripts);
        let image = result?;
        *memo = Some(image.clone());
        Ok(image)
    }

    fn run_build(cache: &Path, scripts: &Path) -> Result<LabImage, LabError> {
        let build = scripts.join("build.sh");
        std::fs::write(&build, BUILD_SH)
            .map_err(|e| LabError::io(format!("writing {}", build.display()), e))?;
        let init = scripts.join("init");
        std::fs::write(&init, INIT)
            .map_err(|e| LabError::io(format!("writing {}", init.display()), e))?;
        let verbose = std::env::var_os("DSAS_LAB_VERBOSE").is_some_and(|v| v == "1");
        let out = Command::new("bash")
            .arg(&build)
            .arg(cache)
            .stdin(std::process::Stdio::null())
            .stderr(if verbose {
                std::process::Stdio::inherit()
            } else {
                std::process::Stdio::piped()
            })
            .output()
            .map_err(|e| LabError::io("running bash lab/build.sh", e))?;
        if !out.status.success() {
            let log = String::from_utf8_lossy(&out.stderr);
            return Err(LabError::Build {
                status: out.status.code().unwrap_or(-1),
                log: super::tail(&log, 30),
            });
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout
            .lines()
            .last()
            .map(PathBuf::from)
            .ok_or_else(|| LabError::Build {
                status: 0,
                log: "build.sh printed no image directory".into(),
            })?;
        LabImage::open(&dir)
    }
}

impl LabImage {
    /// Opens a finished image directory.
    ///
    /// # Errors
    /// [`LabError::Io`] when a file is missing.
    pub fn open(dir: &Path) -> Result<Self, LabError> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p)
                .map_err(|e| LabError::io(format!("reading {}", p.display()), e))
        };
        let kernel_version = read("kernel-version")?.trim().to_owned();
        let base_files = read("base-files.txt")?
            .lines()
            .map(str::to_owned)
            .collect::<BTreeSet<_>>();
        let vmlinux = dir.join("vmlinux");
        let kernel = if vmlinux.is_file() {
            vmlinux
        } else {
            dir.join("vmlinuz")
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            kernel_version,
            kernel,
            initrd: dir.join("initrd"),
            base_files: Arc::new(base_files),
        })
    }
}

/// Creates a fresh private directory under the system temp dir.
pub(crate) fn tempdir(prefix: &str) -> Result<PathBuf, LabError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    for _ in 0..100 {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{prefix}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(LabError::io(format!("creating {}", dir.display()), e)),
        }
    }
    Err(LabError::Config(
        "could not create a temporary directory".into(),
    ))
}
