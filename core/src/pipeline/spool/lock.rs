//! One process per spool folder: an exclusive, non-blocking lock on `<folder>/LOCK`, held as
//! long as the spool is open and released by the kernel when the process ends, however it ends.
//! The file holds the owner's pid, for the error the next process gets.

use crate::error::{OrderTraceError, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The held lock; dropping it releases the folder.
#[derive(Debug)]
pub(crate) struct FolderLock {
    _file: File,
}

fn in_use(dir: &Path, file: Option<&mut File>) -> OrderTraceError {
    let mut owner = String::new();
    if let Some(f) = file {
        let _ = f.read_to_string(&mut owner);
    }
    let owner = owner.trim();
    let who = if owner.is_empty() {
        "another process".to_string()
    } else {
        format!("another process (pid {owner})")
    };
    OrderTraceError::PipelineStart(format!(
        "spool folder {} is in use by {who}; two processes must not share a spool folder: \
         give each its own ORDERTRACE_SPOOL_DIR or service name",
        dir.display()
    ))
}

impl FolderLock {
    /// Takes the lock of `dir`, or says who holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join("LOCK");
        let io = |source| OrderTraceError::File {
            path: path.clone(),
            source,
        };
        let mut file = open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied && cfg!(windows) {
                in_use(dir, None)
            } else {
                io(e)
            }
        })?;
        if !try_lock(&file).map_err(io)? {
            return Err(in_use(dir, Some(&mut file)));
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(std::process::id().to_string().as_bytes())
            .map_err(io)?;
        Ok(Self { _file: file })
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(windows)]
    {
        // No sharing: a second open fails while this handle lives.
        use std::os::windows::fs::OpenOptionsExt;
        options.share_mode(0);
    }
    options.open(path)
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this function borrows for the call's duration.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true) // the exclusive share mode of `open` is the lock
}
